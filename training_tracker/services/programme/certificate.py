"""The attendance certificate of an event: a one-page A4 PDF, the same for every attendee (the
event, its sessions, the organiser and whether it counts as a course), written directly as PDF
(:mod:`~training_tracker.services.core.simple_pdf`)."""

from __future__ import annotations

from flask_babel import gettext as _

from training_tracker.models import ProgrammeEvent
from training_tracker.services.core.dates import shown_span
from training_tracker.services.core.simple_pdf import Block, one_page_pdf


def certificate_pdf(event: ProgrammeEvent) -> bytes:
    sessions = ", ".join(shown_span(one.starts_at, one.ends_at) for one in event.live_sessions)
    blocks: list[Block] = [
        (_("Intyg om deltagande"), 26, True),
        (event.provider.name, 12, False),
        (event.title, 18, True),
        (_("Tid: %(sessions)s", sessions=sessions), 12, False),
    ]
    if event.place:
        blocks.append((_("Plats: %(place)s", place=event.place), 12, False))
    if event.description:
        blocks.append((event.description, 11, False))
    if event.course is not None:
        blocks.append(
            (_("Räknas som genomförd kurs: %(course)s.", course=event.course.title), 12, False)
        )
    blocks.append(
        (
            _(
                "Deltagandet är registrerat av arrangören i utbildningsuppföljningen för "
                "Järfälla, Sigtuna, Sollentuna, Sundbyberg, Upplands-Bro och Upplands Väsby."
            ),
            11,
            False,
        )
    )
    return one_page_pdf(blocks)
