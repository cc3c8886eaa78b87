"""A person's own data as a ZIP (GDPR article 15: "my data"), HR's download of a staff
member's data, and the privacy notice (issue #7, point 5).

The ZIP holds data.json, LASMIG.txt and the certificate files; nothing about anyone else; a
certificate missing on disk is listed as missing. Every download is in the audit trail.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine

from tests import factories, samples
from tests.conftest import Client, count, counting_statements
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import (
    AuditEvent,
    CompletionStatus,
    Employee,
    OutboxStatus,
    Reminder,
    Role,
    Sector,
)
from training_tracker.services.compliance import personal_data
from training_tracker.services.core import audit_trail
from training_tracker.services.programme import attendance, signups

PDF = samples.certificate_pdf(["Intyg", "Sara Ström", "Webbkurs om våld", "Genomförd 2026-11-01"])
INVITATION_TOKEN = "eyJlIjo5OX0.aBcD.eFgH-iJkL"


def _reminder(
    assignment_id: int, recipient: Employee, step: str, batch_key: str, sequence: int = 0
) -> Reminder:
    reminder = Reminder(
        assignment_id=assignment_id,
        step=step,
        cycle=clock.today() - timedelta(days=3),
        sequence=sequence,
        recipient_id=recipient.id,
        planned_on=clock.today(),
        batch_key=batch_key,
    )
    db.session.add(reminder)
    db.session.commit()
    return reminder


@pytest.fixture()
def people(uploads: Path) -> dict[str, Any]:
    """Sara Ström of IFO Järfälla with a full history; Kim Kollega, her colleague, with data
    of his own; Maja, their manager; Hanna of Järfälla's HR."""
    courses = factories.synced_catalog()
    nck = courses["nck-webbkurs-om-vald"]
    hrv = courses["socialstyrelsen-hrv-socialtjansten"]
    school = courses["skolverket-arbeta-mot-hrv"]
    ifo = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    hr = factories.hr_staff("Järfälla")
    maja = factories.employee(unit=ifo, first_name="Maja", last_name="Chefsdotter")
    factories.with_role(maja, Role.MANAGER, on_unit=ifo)
    sara = factories.employee(
        unit=ifo,
        first_name="Sara",
        last_name="Ström",
        email="sara.strom@jarfalla.example",
        manager=maja,
    )
    kim = factories.employee(
        unit=ifo,
        first_name="Kim",
        last_name="Kollega",
        email="kim.kollega@jarfalla.example",
        manager=maja,
    )

    rule = factories.rule(nck, sector=Sector.SOCIAL_SERVICES, municipality_name="Järfälla")
    required = factories.assignment(sara, nck, due_in_days=-5)
    required.rule_id = rule.id
    exempted = factories.assignment(sara, school)
    exempted.exempt = True
    exempted.exemption_reason = "Har gått motsvarande utbildning på förra jobbet"
    exempted.exempted_by_id = hr.id
    exempted.exempted_at = clock.utcnow()
    db.session.commit()

    verified = factories.completion(sara, nck)
    verified.reviewed_by_id = maja.id
    verified.reviewed_at = clock.utcnow()
    certificate = factories.evidence(verified, PDF)
    certificate.reading = {"version": 1, "status": "read", "name": "found", "course": "found"}
    rejected = factories.completion(sara, hrv, status=CompletionStatus.REJECTED)
    rejected.rejection_reason = "Intyget gäller en annan kurs"
    rejected.reviewed_by_id = maja.id
    lost = factories.completion(sara, school, status=CompletionStatus.REPORTED)
    lost_file = factories.evidence(lost, samples.png_bytes())
    db.session.commit()
    (uploads / lost_file.storage_name).unlink()  # gone from the disk, still in the database

    reminder_mail = factories.outbox_message(
        sara,
        kind="reminder",
        status=OutboxStatus.SENT,
        subject="Försenad kurs: gå Webbkurs om våld nu",
        body_text="Hej Sara,\n\nWebbkurs om våld skulle vara klar för fem dagar sedan.\n",
    )
    _reminder(required.id, sara, "overdue", reminder_mail.idempotency_key)
    factories.outbox_message(
        sara,
        kind="invitation",
        status=OutboxStatus.SENT,
        subject="Välj lösenord till utbildningsuppföljningen",
        body_text=f"Välj lösenord: http://127.0.0.1:5000/invitation/{INVITATION_TOKEN}\n",
    )
    escalation = factories.outbox_message(
        maja,
        kind="escalation",
        status=OutboxStatus.SENT,
        subject="Försenad kurs i din personalgrupp: 2 medarbetare",
        body_text="Sara Ström och Kim Kollega är försenade med Webbkurs om våld.\n",
    )
    _reminder(required.id, maja, "escalation", escalation.idempotency_key)

    audit_trail.record(
        db.session,
        "employee.updated",
        actor=hr,
        subject=sara,
        changes={"last_name": ["Lind", "Ström"]},
    )
    audit_trail.record(db.session, "auth.login", actor=sara, subject=sara)
    audit_trail.record(
        db.session,
        "completion.verified",
        actor=maja,
        subject=sara,
        object_type="completion",
        object_id=verified.id,
        course_id=nck.id,
    )
    db.session.commit()

    # Kim's own records, which must never show in Sara's ZIP.
    kims_assignment = factories.assignment(kim, nck, due_in_days=-5)
    kims_completion = factories.completion(kim, hrv)
    kims_certificate = factories.evidence(kims_completion, samples.jpeg_bytes())
    kims_mail = factories.outbox_message(
        kim, kind="reminder", subject="Påminnelse till Kim", body_text="Hej Kim Kollega\n"
    )
    _reminder(kims_assignment.id, kim, "overdue", kims_mail.idempotency_key)
    _reminder(kims_assignment.id, maja, "escalation", escalation.idempotency_key)
    audit_trail.record(
        db.session,
        "employee.updated",
        actor=hr,
        subject=kim,
        changes={"email": ["kim.old@jarfalla.example", kim.email]},
    )
    # Something Sara did to Kim's record: listed in her ZIP as an act, never with Kim's data.
    audit_trail.record(
        db.session,
        "employee.updated",
        actor=sara,
        subject=kim,
        changes={"first_name": ["Kimberly", "Kim"]},
    )
    db.session.commit()
    return {
        "sara": sara,
        "kim": kim,
        "maja": maja,
        "hr": hr,
        "nck": nck,
        "required": required,
        "exempted": exempted,
        "verified": verified,
        "rejected": rejected,
        "lost": lost,
        "kims_assignment": kims_assignment,
        "kims_completion": kims_completion,
        "kims_certificate": kims_certificate,
    }


def _files(blob: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def unzip(response: Any) -> dict[str, bytes]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return _files(response.data)


def zip_of(person: Employee, uploads: Path) -> dict[str, bytes]:
    """The ZIP as the service writes it (the routes add only headers and the audit event)."""
    out = io.BytesIO()
    personal_data.write_zip(personal_data.collect(db.session, person), out, upload_folder=uploads)
    return _files(out.getvalue())


def data_of(files: dict[str, bytes]) -> dict[str, Any]:
    return json.loads(files["data.json"].decode("utf-8"))


def ids_in(items: list[dict[str, Any]]) -> set[int]:
    return {item["id"] for item in items}


ISO_MOMENT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


# --- what the ZIP holds ---------------------------------------------------------------------


def test_the_zip_holds_the_persons_profile_roles_and_a_readme(people, uploads: Path):
    sara = people["sara"]
    factories.with_role(sara, Role.COORDINATOR, municipality_name="Järfälla")
    sara.last_login_at = datetime(2026, 11, 20, 8, 30)  # stored as UTC
    db.session.commit()
    files = zip_of(sara, uploads)

    assert {"data.json", "LASMIG.txt"} <= files.keys()
    assert "Ström".encode() in files["data.json"]  # UTF-8 as written, not \u escapes
    data = data_of(files)
    assert data["format"] == {
        "name": "training-tracker-personal-data",
        "version": 1,
        "documentation": "LASMIG.txt",
    }
    person = data["person"]
    assert {key: person[key] for key in ("first_name", "last_name", "email")} == {
        "first_name": "Sara",
        "last_name": "Ström",
        "email": "sara.strom@jarfalla.example",
    }
    assert person["employee_number"] == sara.employee_number
    assert person["municipality"] == "Järfälla"
    assert person["unit"] == "IFO Järfälla"
    assert person["sector"] == "socialtjanst"
    assert person["manager"] == "Maja Chefsdotter"
    assert person["hire_date"] == sara.hire_date.isoformat()
    assert person["end_date"] is None
    assert person["preferred_language"] == "sv"
    assert person["has_password"] is True
    assert person["last_login_at"] == "2026-11-20T09:30:00+01:00"  # Swedish time
    assert person["weekly_digest_opt_out"] is False
    assert person["personnummer_stored"] is False
    assert "password_hash" not in person and sara.password_hash.encode() not in files["data.json"]
    assert [(r["role"], r["municipality"], r["whole_region"]) for r in data["roles"]] == [
        ("coordinator", "Järfälla", False)
    ]
    readme = files["LASMIG.txt"].decode("utf-8")
    assert "dina personuppgifter" in readme and "your personal data" in readme
    for section in ("person", "assignments", "completions", "reminders", "messages"):
        assert section in readme and section in data


def test_assignments_and_completions_with_their_certificate(people, uploads: Path):
    files = zip_of(people["sara"], uploads)
    data = data_of(files)

    assignments = {a["id"]: a for a in data["assignments"]}
    assert assignments.keys() == {people["required"].id, people["exempted"].id}
    required = assignments[people["required"].id]
    assert required["course"]["key"] == "nck-webbkurs-om-vald"
    assert required["source"] == "rule"
    assert required["rule"]["municipality"] == "Järfälla"
    assert required["rule"]["sector"] == "socialtjanst"
    assert required["due_date"] == people["required"].due_date.isoformat()
    assert ISO_MOMENT.match(required["assigned_at"])
    exempted = assignments[people["exempted"].id]
    assert exempted["exempt"] is True
    assert exempted["exemption_reason"] == "Har gått motsvarande utbildning på förra jobbet"
    assert exempted["exempted_by"] == "Hanna Personalsson"

    completions = {c["id"]: c for c in data["completions"]}
    verified = completions[people["verified"].id]
    assert verified["status"] == "verified"
    assert verified["status_label"] == "Godkänd"
    assert verified["completed_on"] == people["verified"].completed_on.isoformat()
    assert verified["reported_by"] == "Sara Ström"
    assert verified["reviewed_by"] == "Maja Chefsdotter"
    [certificate] = verified["certificates"]
    name = f"certificates/{people['verified'].id}-nck-webbkurs-om-vald.pdf"
    assert certificate["file"] == name
    assert certificate["file_status"] == "included"
    assert certificate["file_unchanged_since_upload"] is True
    assert certificate["content_type"] == "application/pdf"
    assert certificate["reading"]["name"] == "found"
    assert files[name] == PDF  # the file itself, byte for byte

    rejected = completions[people["rejected"].id]
    assert (rejected["status"], rejected["rejection_reason"]) == (
        "rejected",
        "Intyget gäller en annan kurs",
    )
    assert rejected["certificates"] == []


def test_a_certificate_missing_on_disk_is_listed_as_missing(people, uploads: Path):
    files = zip_of(people["sara"], uploads)
    lost = next(c for c in data_of(files)["completions"] if c["id"] == people["lost"].id)

    [certificate] = lost["certificates"]
    assert certificate["file_status"] == "missing"
    assert certificate["file"] is None
    assert certificate["original_filename"] == "intyg.pdf"  # what the database still knows
    assert not any(name.startswith(f"certificates/{people['lost'].id}-") for name in files)
    assert [name for name in files if name.startswith("certificates/")] == [
        f"certificates/{people['verified'].id}-nck-webbkurs-om-vald.pdf"
    ]


def test_reminders_and_mails_without_links_that_sign_in(people, uploads: Path):
    files = zip_of(people["sara"], uploads)
    data = data_of(files)

    reminders = {(r["step"], r["sent_to_you"]): r for r in data["reminders"]}
    assert reminders.keys() == {("overdue", True), ("escalation", False)}
    assert reminders[("overdue", True)]["mail_status"] == "sent"
    assert reminders[("overdue", True)]["course"]["key"] == "nck-webbkurs-om-vald"
    assert reminders[("escalation", False)]["recipient"] == "Maja Chefsdotter"

    messages = {m["kind"]: m for m in data["messages"]}
    assert messages.keys() == {"reminder", "invitation"}  # the escalation went to Maja
    reminder = messages["reminder"]
    assert reminder["subject"] == "Försenad kurs: gå Webbkurs om våld nu"
    assert reminder["status"] == "sent" and ISO_MOMENT.match(reminder["sent_at"])
    assert "skulle vara klar för fem dagar sedan" in reminder["body_text"]
    # A still-valid invitation link would let whoever holds the file choose Sara's password.
    assert INVITATION_TOKEN.encode() not in b"".join(files.values())
    assert messages["invitation"]["body_text"].startswith("Välj lösenord: http://")
    assert "/invitation/[borttagen-länk]" in messages["invitation"]["body_text"]


def test_audit_events_about_the_person_and_by_them(people, uploads: Path):
    events = data_of(zip_of(people["sara"], uploads))["audit_events"]

    by_action = {(e["action"], e["concerns"]): e for e in events}
    renamed = by_action[("employee.updated", "you")]
    assert renamed["actor"] == "Hanna Personalsson"
    assert renamed["changes"] == [{"field": "Efternamn", "before": "Lind", "after": "Ström"}]
    assert by_action[("completion.verified", "you")]["actor"] == "Maja Chefsdotter"
    assert by_action[("auth.login", "you")]["done_by_you"] is True
    # What Sara did to Kim's record: that and when, not whom nor what it held.
    other = by_action[("employee.updated", "another_person")]
    assert other["done_by_you"] is True
    assert other.keys() == {"occurred_at", "action", "label", "concerns", "done_by_you"}
    assert all(ISO_MOMENT.match(e["occurred_at"]) for e in events)


def test_a_colleagues_data_never_appears(people, uploads: Path):
    kim = people["kim"]
    files = zip_of(people["sara"], uploads)
    everything = b"\n".join(files.values()).decode("utf-8", errors="replace")
    data = data_of(files)

    for text in ("Kim", "Kollega", "Kimberly", kim.email, "kim.old@", kim.employee_number):
        assert text not in everything, text
    assert people["kims_completion"].id not in ids_in(data["completions"])
    assert people["kims_assignment"].id not in ids_in(data["assignments"])
    assert kim.id not in {data["person"]["id"]}
    assert not any(str(people["kims_completion"].id) + "-" in name for name in files)
    assert len([m for m in data["reminders"] if m["step"] == "escalation"]) == 1  # not Kim's


def test_a_managers_zip_leaves_out_the_staff_named_in_escalations(people, uploads: Path):
    files = zip_of(people["maja"], uploads)
    data = data_of(files)
    everything = b"\n".join(files.values()).decode("utf-8")

    [escalation] = data["messages"]
    assert escalation["kind"] == "escalation"
    assert escalation["subject"] == "Försenad kurs i din personalgrupp: 2 medarbetare"
    assert escalation["body_text"] is None
    assert escalation["body_note"] == "Texten är inte med: den nämner andra personer."
    assert data["reminders"] == []  # both escalations were about Sara's and Kim's courses
    verified = [e for e in data["audit_events"] if e["action"] == "completion.verified"]
    assert [(e["concerns"], e["done_by_you"]) for e in verified] == [("another_person", True)]
    assert "changes" not in verified[0] and "actor" not in verified[0]
    for text in ("Sara", "Ström", "sara.strom", "Kim", "kim.kollega"):
        assert text not in everything, text


def test_a_system_admin_gets_their_own_small_zip(client: Client):
    admin = factories.admin()
    client.sign_in(admin)
    data = data_of(unzip(client.get("/my/data.zip")))

    assert data["person"]["first_name"] == "Ada"
    assert (data["person"]["municipality"], data["person"]["unit"]) == (None, None)
    assert [r["role"] for r in data["roles"]] == ["admin"]
    assert data["assignments"] == data["completions"] == data["messages"] == []


# --- downloading: headers, audit, who may --------------------------------------------------


def test_the_person_finds_the_download_gets_an_uncached_attachment_and_it_is_audited(
    client: Client, people
):
    sara = people["sara"]
    assert client.get("/my/data").status_code == 302  # signed in only
    client.sign_in(sara)
    assert 'href="/my/data"' in client.get("/").get_data(as_text=True)  # from the start page
    page = client.get("/my/data").get_data(as_text=True)
    assert "<h1>Dina personuppgifter</h1>" in page
    assert 'href="/my/data.zip"' in page and 'href="/privacy"' in page
    assert count(AuditEvent, AuditEvent.action == "personal_data.exported") == 0  # not yet

    response = client.get("/my/data.zip")

    assert data_of(unzip(response))["person"]["email"] == "sara.strom@jarfalla.example"
    assert response.mimetype == "application/zip"
    today = clock.today().isoformat()
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="personuppgifter-sara-strom-{today}.zip"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "personal_data.exported")
    ).all()
    assert (event.actor_id, event.subject_employee_id) == (sara.id, sara.id)
    assert event.details == {"certificates": 2, "missing_certificates": 1}


def test_hr_of_the_municipality_downloads_a_staff_members_zip(client: Client, people):
    sara, hr = people["sara"], people["hr"]
    client.sign_in(hr)
    person_page = client.get(f"/employees/{sara.id}").get_data(as_text=True)
    assert f'href="/employees/{sara.id}/data.zip"' in person_page
    assert "Ladda ned personuppgifter (ZIP)" in person_page

    response = client.get(f"/employees/{sara.id}/data.zip")

    data = data_of(unzip(response))
    assert data["person"]["email"] == "sara.strom@jarfalla.example"
    assert "Hanna" not in json.dumps(data["person"])  # Sara's ZIP, not HR's own
    assert "personuppgifter-sara-strom-" in response.headers["Content-Disposition"]
    assert response.headers["Content-Disposition"].startswith("attachment; ")
    assert response.headers["Cache-Control"] == "no-store"
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "personal_data.exported")
    ).all()
    assert (event.actor_id, event.subject_employee_id) == (hr.id, sara.id)


def test_only_hr_in_scope_and_admins_download_someone_elses_zip(client: Client, people):
    sara = people["sara"]
    url = f"/employees/{sara.id}/data.zip"
    sigtuna_hr = factories.hr_staff("Sigtuna")
    other_admin = factories.admin()

    assert client.get(url).status_code == 302  # anonymous: to the sign-in page
    for person, expected in [
        (sigtuna_hr, 404),  # HR, but of another municipality: nothing revealed
        (people["maja"], 403),  # her own manager: managers do not download
        (sara, 403),  # herself: through /my/data.zip
    ]:
        client.sign_in(person)
        assert client.get(url).status_code == expected, person.full_name
    client.sign_in(people["hr"])
    assert client.get("/employees/999999/data.zip").status_code == 404
    client.sign_in(factories.admin())
    assert client.get(f"/employees/{other_admin.id}/data.zip").status_code == 404  # not staff
    assert count(AuditEvent, AuditEvent.action == "personal_data.exported") == 0  # none given

    assert client.get(url).status_code == 200
    assert count(AuditEvent, AuditEvent.action == "personal_data.exported") == 1


def test_the_zip_takes_a_fixed_number_of_queries(people, uploads: Path):
    sara, kim, nck = people["sara"], people["kim"], people["nck"]
    sara_id, kim_id = sara.id, kim.id
    for n in range(12):  # a long history for Kim
        completion = factories.completion(
            kim, nck, completed_on=clock.today() - timedelta(days=30 * n + 1)
        )
        factories.evidence(completion, PDF)
        audit_trail.record(db.session, "auth.login", actor=kim, subject=kim)
        factories.outbox_message(kim, kind="reminder", subject=f"Påminnelse {n}")
        _reminder(people["kims_assignment"].id, kim, "overdue", f"batch-{n}", sequence=n + 2)
    db.session.commit()

    def statements_for(person_id: int) -> tuple[int, personal_data.PersonalData]:
        db.session.expunge_all()  # nothing already loaded: every query is counted
        with counting_statements() as statements:
            person = db.session.get(Employee, person_id)
            collected = personal_data.collect(db.session, person)
        personal_data.write_zip(collected, io.BytesIO(), upload_folder=uploads)  # no queries
        return len(statements), collected

    few, for_sara = statements_for(sara_id)
    many, for_kim = statements_for(kim_id)
    assert (len(for_sara.certificates), len(for_kim.certificates)) == (2, 13)
    assert len(for_kim.data["audit_events"]) > len(for_sara.data["audit_events"])
    assert few == many <= 16, (few, many)


# --- the pages ------------------------------------------------------------------------------


PRIVACY_SECTIONS = [
    "Vem ansvarar för dina uppgifter?",
    "Vilka uppgifter sparas?",
    "Varför sparas uppgifterna?",
    "Vem ser dina uppgifter?",
    "Hur länge sparas uppgifterna?",
    "Dina rättigheter",
    "Kontakt",
]


def headings(page: str, level: str) -> list[str]:
    return [
        " ".join(re.sub(r"<[^>]+>", "", h).split())
        for h in re.findall(rf"<{level}[^>]*>(.*?)</{level}>", page, re.S)
    ]


def test_the_privacy_notice_is_public_and_in_swedish(
    app, client: Client, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(app.config, "PRIVACY_CONTACT_EMAIL", "dataskydd@jarfalla.example")
    factories.municipality("Sigtuna").retention_months = 36
    db.session.commit()
    response = client.get("/privacy")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert '<html lang="sv">' in page
    assert headings(page, "h1") == ["Så behandlar vi dina personuppgifter"]
    assert headings(page, "h2") == PRIVACY_SECTIONS
    assert "Personuppgiftsansvarig är den kommun där du är anställd" in page
    assert "Personnummer." in page
    assert "allmänt intresse (artikel 6.1 e" in page and "rättslig förpliktelse" in page
    assert "Integritetsskyddsmyndigheten (IMY)" in page
    assert "om kommunen inte har bestämt något är det 24 månader" in page
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th><td class="num">(\d+)</td>', page))
    assert rows == {
        "Järfälla": "24",
        "Sigtuna": "36",
        "Sollentuna": "24",
        "Sundbyberg": "24",
        "Upplands Väsby": "24",
        "Upplands-Bro": "24",
    }
    assert 'href="mailto:dataskydd@jarfalla.example"' in page
    assert 'href="/my/data"' not in page  # nothing to download without signing in


def test_the_privacy_notice_signed_in_names_the_persons_own_terms(client: Client):
    sigtuna_person = factories.employee(unit=factories.unit("Sigtuna"))
    factories.municipality("Sigtuna").retention_months = 36
    db.session.commit()
    client.sign_in(sigtuna_person)
    page = client.get("/privacy").get_data(as_text=True)

    assert headings(page, "h1") == ["Så behandlar vi dina personuppgifter"]
    assert "Du är anställd i Sigtuna. Där sparas uppgifterna 36 månader" in page
    assert 'href="/my/data"' in page


def test_the_programme_sign_ups_and_attendance_are_in_the_zip(people, uploads: Path):
    sara, kim, maja = people["sara"], people["kim"], people["maja"]
    held = factories.programme_event(title="Barn som upplever våld", capacity=5)
    asked = factories.programme_event(title="Hedersnormer", capacity=1)
    signups.sign_up(db.session, sara, held, sara)
    signups.sign_up(db.session, maja, asked, sara)  # her manager signs her up
    signups.sign_up(db.session, kim, asked, kim)  # Kim waits; not in Sara's file
    db.session.commit()
    session_start = held.sessions[0].starts_at
    with time_machine.travel(session_start + timedelta(minutes=10), tick=False):
        attendance.check_in(db.session, sara, held.sessions[0].checkin_code)
        db.session.commit()

    data = data_of(zip_of(sara, uploads))

    programme = data["programme"]
    assert [(s["event"], s["status"], s["signed_up_by"]) for s in programme["signups"]] == [
        ("Barn som upplever våld", "confirmed", "you"),
        ("Hedersnormer", "confirmed", "someone_else"),
    ]
    assert programme["signups"][0]["status_label"] == "Har en plats"
    assert programme["signups"][0]["event_starts_at"].endswith("+01:00")
    (attended,) = programme["attendance"]
    assert attended["event"] == "Barn som upplever våld"
    assert attended["method"] == "code" and attended["method_label"] == "Incheckning med kod"
    assert attended["session_starts_at"] == programme["signups"][0]["event_starts_at"]
    # Her confirmation mail is hers alone: its text is in the file.
    confirmation = next(m for m in data["messages"] if m["kind"] == "programme_signup")
    assert "Barn som upplever våld" in (confirmation["body_text"] or "")
    text = json.dumps(data, ensure_ascii=False)
    assert "Kim" not in text and "Chefsdotter" not in text.replace(data["person"]["manager"], "")
    readme = zip_of(sara, uploads)["LASMIG.txt"].decode("utf-8")
    assert "programme" in readme and "Gemensamma programmet" in readme
