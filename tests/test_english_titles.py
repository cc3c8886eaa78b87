"""Course titles in the reader's language: a manager who chose English reads the English
titles in the weekly digest, and HR working in English reads them in the messages after
recording or assigning a course."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from tests import factories
from tests.conftest import mail_html, mail_text, subject_of
from training_tracker.extensions import db
from training_tracker.models import Role, Sector
from training_tracker.services.training import reminders

NCK = "nck-webbkurs-om-vald"
MONDAY = date(2027, 1, 11)  # the week's first working day: digests go out


@pytest.fixture()
def nck():  # type: ignore[no-untyped-def]
    course = factories.synced_catalog()[NCK]
    assert course.title_en and course.title_en != course.title
    return course


@pytest.mark.parametrize("language", ["en", "sv"])
def test_the_weekly_digest_names_the_course_in_the_manager_s_language(
    app, smtp_server, nck, language
):
    with time_machine.travel(datetime(2027, 1, 11, 5, tzinfo=UTC), tick=False):
        unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
        manager = factories.with_role(
            factories.employee(unit=unit, first_name="Maria", language=language),
            Role.MANAGER,
            on_unit=unit,
        )
        factories.assignment(factories.employee(unit=unit, first_name="Lisa"), nck, due_in_days=-3)
        reminders.run_reminders(db.session, today=MONDAY)
    digests = [m for m in smtp_server.to(manager.email) if "W" not in subject_of(m)]
    (digest,) = [m for m in digests if "Lisa" in mail_text(m)]
    wanted, other = (nck.title_en, nck.title) if language == "en" else (nck.title, nck.title_en)
    assert f": {wanted}, 3 " in mail_text(digest)
    assert f": {wanted}, 3 " in mail_html(digest)
    assert other not in mail_text(digest)


def test_hr_in_english_reads_the_english_title_after_recording_a_group(client, nck):
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    lisa = factories.employee(unit=unit, first_name="Lisa")
    hr = factories.with_role(
        factories.employee(unit=unit, language="en"), Role.HR, municipality_name="Järfälla"
    )
    client.sign_in(hr)
    day = date.today() - timedelta(days=2)
    page = client.post_form(
        "/employees/record-completions",
        {"course": str(nck.id), "completed_on": day.isoformat(), "employees": [str(lisa.id)]},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert f"Completed course recorded for 1 person: {nck.title_en}" in page
    assert nck.title not in page.split('class="flash')[1].split("</div>")[0]
    # The course list of the form is in English too.
    assert f">{nck.title_en}</option>" in page


def test_hr_in_english_reads_the_english_title_after_assigning_a_course(client, nck):
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    lisa = factories.employee(unit=unit, first_name="Lisa")
    hr = factories.with_role(
        factories.employee(unit=unit, language="en"), Role.HR, municipality_name="Järfälla"
    )
    client.sign_in(hr)
    due = date.today() + timedelta(days=30)
    page = client.post_form(
        f"/employees/{lisa.id}/assignments",
        {"course": str(nck.id), "due_date": due.isoformat()},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert f"{nck.title_en} has been assigned" in page
