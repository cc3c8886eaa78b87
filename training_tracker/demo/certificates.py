"""The demo's certificates (intyg): most reports awaiting review in the home municipality,
and some verified ones, come with the PDF certificate their course's provider would issue,
so the review queue shows reports with and without one, bulk approval can be tried, and the
review page shows the file and what the certificate reader found.

Each file is stored and read exactly as an upload is (``evidence.store_file``,
``completions.read_stored_certificate``), so the reading is the reader's own verdict: "matches"
for most, a warning for the one in ten made to show another date. Reading costs a child
process per file, so the number of files is bounded whatever the demo's size.
"""

from __future__ import annotations

import io
import random
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, joinedload

from training_tracker.models import (
    Completion,
    CompletionStatus,
    Course,
    Employee,
    Evidence,
    Unit,
)
from training_tracker.services.core.simple_pdf import Block, one_page_pdf
from training_tracker.services.training.completions import read_stored_certificate
from training_tracker.services.training.evidence import store_file

# At most this many reports awaiting review, and verified completions, are candidates: the
# first in the queue's order, so its first page shows both kinds at any demo size.
MAX_REPORTED = 60
MAX_VERIFIED = 20
REPORTED_WITH_CERTIFICATE = 0.75
VERIFIED_WITH_CERTIFICATE = 0.5
# Every tenth certificate shows another date than the one reported: the reader warns.
OTHER_DATE_EVERY = 10

_MONTHS = "januari februari mars april maj juni juli augusti september oktober november december"


def swedish_date(day: date) -> str:
    """The day as Swedish certificates write it: "3 november 2026"."""
    return f"{day.day} {_MONTHS.split()[day.month - 1]} {day.year}"


def certificate_blocks(
    name: str, course_title: str, completed_on: date, issuer: str
) -> list[Block]:
    """The text of a provider's course certificate, in the layout the providers' recognisers
    expect (see providers/nck.py): heading, name, "har genomfört", title, date, issuer."""
    return [
        ("Intyg", 28, True),
        (name, 18, True),
        ("har genomfört", 12, False),
        (course_title, 16, True),
        (f"Datum: {swedish_date(completed_on)}", 12, False),
        (issuer, 11, False),
    ]


def attach_certificates(session: Session, rng: random.Random, *, home_municipality_id: int) -> int:
    """Store and attach the demo's certificates; returns how many files were stored. Written
    into ``UPLOAD_FOLDER`` before the caller commits, as an upload's file is."""
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    max_bytes = int(current_app.config["EVIDENCE_MAX_BYTES"])
    chosen = _share(
        rng,
        _candidates(session, home_municipality_id, CompletionStatus.REPORTED),
        REPORTED_WITH_CERTIFICATE,
    ) + _share(
        rng,
        _candidates(session, home_municipality_id, CompletionStatus.VERIFIED),
        VERIFIED_WITH_CERTIFICATE,
    )
    rows = []
    for number, completion in enumerate(chosen, start=1):
        shown_on = completion.completed_on
        # The 2nd, 12th, 22nd …: even the smallest demo's queue shows the reader's warning.
        if number % OTHER_DATE_EVERY == 2:
            # An earlier day: a certificate from an earlier attempt, or a mistyped report.
            shown_on -= timedelta(days=3 + rng.randrange(40))
        course, employee = completion.course, completion.employee
        pdf = one_page_pdf(
            certificate_blocks(employee.full_name, course.title, shown_on, course.provider.name)
        )
        stored = store_file(
            io.BytesIO(pdf), filename=f"intyg-{course.key}.pdf", folder=folder, max_bytes=max_bytes
        )
        rows.append(
            {
                "completion_id": completion.id,
                "storage_name": stored.storage_name,
                "original_filename": stored.original_filename,
                "content_type": stored.content_type,
                "size_bytes": stored.size_bytes,
                "sha256": stored.sha256,
                "uploaded_at": completion.reported_at,  # sent with the report
                "uploaded_by_id": completion.reported_by_id,
                "reading": read_stored_certificate(
                    stored, employee, course, completion.completed_on
                ),
            }
        )
    if rows:  # one statement whatever their number, as the seed's other rows are written
        session.execute(sa.insert(Evidence), rows)
    return len(chosen)


def _share(rng: random.Random, completions: list[Completion], share: float) -> list[Completion]:
    """``share`` of ``completions`` (rounded), drawn at random, in their order: exactly so,
    not by a draw per completion, so that a small demo's few reports still show both kinds."""
    drawn = set(rng.sample(range(len(completions)), round(share * len(completions))))
    return [completion for index, completion in enumerate(completions) if index in drawn]


def _candidates(
    session: Session, municipality_id: int, status: CompletionStatus
) -> list[Completion]:
    """The municipality's completions in ``status`` of courses that issue a certificate: the
    first in the review queue's order (oldest report first), or the latest verified."""
    limit, order = (
        (MAX_REPORTED, (Completion.reported_at, Completion.id))
        if status is CompletionStatus.REPORTED
        else (MAX_VERIFIED, (Completion.reviewed_at.desc(), Completion.id.desc()))
    )
    return list(
        session.scalars(
            sa.select(Completion)
            .join(Course, Course.id == Completion.course_id)
            .join(Employee, Employee.id == Completion.employee_id)
            .join(Unit, Unit.id == Employee.unit_id)
            .where(
                Unit.municipality_id == municipality_id,
                Course.issues_certificate,
                Completion.status == status,
            )
            .order_by(*order)
            .limit(limit)
            .options(
                joinedload(Completion.employee),
                joinedload(Completion.course).joinedload(Course.provider),
            )
        )
    )
