"""Managers and HR review reported completions: the queue in their scope, oldest first;
one report with its certificate and what reading it found; verify, reject with a reason that
the employee is mailed, bulk verify; certificates opened only by those who may see them."""

from __future__ import annotations

import io
import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.http import parse_options_header

from tests import factories
from tests.conftest import count, counting_statements, mail_html, mail_text, subject_of
from tests.samples import certificate_pdf, png_bytes, scanned_pdf
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import (
    AuditEvent,
    Completion,
    CompletionStatus,
    Employee,
    Evidence,
    OutboxMessage,
    Role,
    Sector,
)
from training_tracker.services.messaging import outbox
from training_tracker.services.training import verification
from training_tracker.services.training.completions import ReportData, report_completion
from training_tracker.services.training.evidence import store_file
from training_tracker.services.training.progress import CourseState, course_progress
from training_tracker.services.training.verification import QueueFilters, ReviewError


@pytest.fixture()
def catalog():
    return factories.synced_catalog()


@pytest.fixture()
def nck(catalog):
    return catalog["nck-webbkurs-om-vald"]


@pytest.fixture()
def ifo():
    return factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")


@pytest.fixture()
def school():
    return factories.unit("Järfälla", Sector.SCHOOL, "Jakobsbergsskolan")


@pytest.fixture()
def manager(ifo):
    return factories.with_role(
        factories.employee(unit=ifo, first_name="Maria", last_name="Chef"),
        Role.MANAGER,
        on_unit=ifo,
    )


@pytest.fixture()
def hr():
    return factories.with_role(
        factories.employee(first_name="Hanna", last_name="Personal"),
        Role.HR,
        municipality_name="Järfälla",
    )


@pytest.fixture()
def anna(ifo):
    return factories.employee(unit=ifo, first_name="Anna", last_name="Lindqvist")


def report(person, course, uploads, *, content=None, days_ago=3, reported_days_ago=0):  # type: ignore[no-untyped-def]
    """A report as the employee makes it: the certificate stored and read, the row written."""
    completed_on = clock.today() - timedelta(days=days_ago)
    content = content or certificate_pdf(
        [
            "Intyg",
            f"{person.first_name} {person.last_name}",
            f"har genomfört webbkursen {course.title}",
            f"Datum: {completed_on.isoformat()}",
        ]
    )
    stored = store_file(io.BytesIO(content), filename="intyg.pdf", folder=uploads, max_bytes=10**7)
    result = report_completion(
        db.session,
        employee=person,
        data=ReportData(course_id=course.id, completed_on=completed_on),
        stored=stored,
        actor=person,
    )
    result.completion.reported_at = clock.utcnow() - timedelta(days=reported_days_ago)
    db.session.commit()
    return result.completion


def status_of(completion_id: int) -> CompletionStatus:
    db.session.expire_all()
    return db.session.get(Completion, completion_id).status


# --- The queue -----------------------------------------------------------------------------


def test_a_manager_sees_the_reports_of_their_unit_oldest_first(
    client, manager, anna, ifo, school, nck, catalog, uploads
):
    newer = report(anna, nck, uploads, reported_days_ago=1)
    older = report(
        factories.employee(unit=ifo, first_name="Bo", last_name="Ek"),
        next(c for key, c in catalog.items() if key != nck.key),
        uploads,
        reported_days_ago=5,
    )
    other_unit = report(factories.employee(unit=school), nck, uploads)
    own = report(manager, nck, uploads)

    page = verification.verification_queue(db.session, manager, QueueFilters())

    assert [item.completion.id for item in page.items] == [older.id, newer.id]
    assert [item.days_waiting for item in page.items] == [5, 1]
    assert other_unit.id not in [item.completion.id for item in page.items]
    assert own.id not in [item.completion.id for item in page.items]

    client.sign_in(manager)
    html = client.get("/verify/").get_data(as_text=True)
    assert "2 rapporter väntar." in html
    assert html.index("Bo Ek") < html.index("Anna Lindqvist")


def test_hr_sees_every_unit_of_their_municipality_and_no_other(hr, anna, school, nck, uploads):
    in_ifo = report(anna, nck, uploads)
    in_school = report(factories.employee(unit=school), nck, uploads)
    in_sigtuna = report(
        factories.employee(unit=factories.unit("Sigtuna", Sector.SCHOOL, "Skolan")), nck, uploads
    )

    ids = {
        i.completion.id
        for i in verification.verification_queue(db.session, hr, QueueFilters()).items
    }

    assert ids == {in_ifo.id, in_school.id}
    assert in_sigtuna.id not in ids


def test_only_reports_awaiting_review_are_in_the_queue(manager, anna, nck, uploads):
    waiting = report(anna, nck, uploads)
    for status in (
        CompletionStatus.VERIFIED,
        CompletionStatus.REJECTED,
        CompletionStatus.WITHDRAWN,
    ):
        factories.completion(anna, nck, status=status)

    page = verification.verification_queue(db.session, manager, QueueFilters())

    assert [item.completion.id for item in page.items] == [waiting.id]


def test_the_queue_filters_by_course_and_unit_and_ignores_malformed_filters(
    client, hr, anna, school, nck, catalog, uploads
):
    other_course = next(c for key, c in catalog.items() if key != nck.key)
    by_nck = report(anna, nck, uploads)
    by_other = report(anna, other_course, uploads)
    in_school = report(factories.employee(unit=school), nck, uploads)

    def ids(**filters):  # type: ignore[no-untyped-def]
        page = verification.verification_queue(db.session, hr, QueueFilters(**filters))
        return {item.completion.id for item in page.items}

    assert ids(course_id=nck.id) == {by_nck.id, in_school.id}
    assert ids(unit_id=school.id) == {in_school.id}
    assert ids(course_id=other_course.id, unit_id=anna.unit_id) == {by_other.id}

    client.sign_in(hr)
    for query in ("?course=abc&unit=-3&page=x", "?course=99999999999999", "?page=999"):
        response = client.get("/verify/" + query)
        assert response.status_code == 200
    assert "3 rapporter väntar." in client.get("/verify/?course=abc").get_data(as_text=True)
    filtered = client.get(f"/verify/?unit={school.id}").get_data(as_text=True)
    assert "1 rapport väntar." in filtered


def test_the_queue_takes_the_same_number_of_queries_for_5_and_40_reports(
    manager, ifo, nck, uploads
):
    def queries_for_queue() -> int:
        db.session.expire_all()
        with counting_statements() as statements:
            page = verification.verification_queue(db.session, manager, QueueFilters())
            for item in page.items:  # what the template reads
                _ = (item.completion.employee.unit, item.completion.course.provider.name)
        return len(statements)

    people = [factories.employee(unit=ifo) for _ in range(40)]
    for person in people[:5]:
        report(person, nck, uploads)
    few = queries_for_queue()
    for person in people[5:]:
        report(person, nck, uploads)
    many = queries_for_queue()

    assert few == many
    assert many <= 8


# --- One report: what the certificate says -------------------------------------------------


def test_the_review_page_shows_what_reading_the_certificate_found(
    client, manager, anna, nck, uploads
):
    matching = report(anna, nck, uploads)
    wrong_date = report(
        anna,
        nck,
        uploads,
        content=certificate_pdf(["Anna Lindqvist", nck.title, "Datum: 2020-01-15"]),
    )
    scanned = report(anna, nck, uploads, content=scanned_pdf())
    photo = report(anna, nck, uploads, content=png_bytes())
    client.sign_in(manager)

    page = client.get(f"/verify/{matching.id}").get_data(as_text=True)
    assert "Finns på intyget" in page
    assert "Kursens titel finns på intyget" in page
    assert "Samma datum finns på intyget" in page
    evidence_id = matching.evidence[0].id
    assert f'<iframe class="evidence-view" src="/evidence/{evidence_id}"' in page
    # Keyboard users can skip the viewer's many Tab stops to the decision.
    assert page.index('href="#decide-heading"') < page.index("<iframe")
    assert '<h2 id="decide-heading" tabindex="-1">' in page

    page = client.get(f"/verify/{wrong_date.id}").get_data(as_text=True)
    assert "Intyget har ett annat datum" in page
    assert "2020-01-15" in page

    page = client.get(f"/verify/{scanned.id}").get_data(as_text=True)
    assert "kunde inte läsas automatiskt" in page

    page = client.get(f"/verify/{photo.id}").get_data(as_text=True)
    assert "Bilder läses inte automatiskt" in page
    assert f'src="/evidence/{photo.evidence[0].id}"' in page

    queue = client.get("/verify/").get_data(as_text=True)
    assert "Namn, kurs och datum stämmer" in queue
    assert "Annat datum" in queue
    assert "Kunde inte läsas" in queue


def test_nobody_reviews_a_report_outside_their_scope_or_their_own(
    client, manager, hr, anna, school, nck, uploads
):
    own = report(manager, nck, uploads)
    elsewhere = report(factories.employee(unit=school), nck, uploads)
    client.sign_in(manager)

    for completion in (own, elsewhere):
        assert client.get(f"/verify/{completion.id}").status_code == 404
        assert client.post_form(f"/verify/{completion.id}/verify").status_code == 404
        response = client.post_form(f"/verify/{completion.id}/reject", {"reason": "Nej"})
        assert response.status_code == 404
        assert status_of(completion.id) == CompletionStatus.REPORTED

    # HR of the municipality reviews the manager's own report.
    client.sign_in(hr)
    assert client.get(f"/verify/{own.id}").status_code == 200


# --- Verify --------------------------------------------------------------------------------


def test_verifying_approves_the_report_records_who_and_the_employee_sees_it_verified(
    client, manager, anna, nck, uploads
):
    assignment = factories.assignment(anna, nck)
    completion = report(anna, nck, uploads)
    client.sign_in(manager)

    response = client.post_form(f"/verify/{completion.id}/verify")

    assert response.status_code == 302
    db.session.expire_all()
    completion = db.session.get(Completion, completion.id)
    assert completion.status == CompletionStatus.VERIFIED
    assert completion.reviewed_by_id == manager.id
    assert completion.reviewed_at is not None
    audit = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "completion.verified")
    ).one()
    assert (audit.actor_id, audit.subject_employee_id, audit.object_id) == (
        manager.id,
        anna.id,
        completion.id,
    )
    assert "Rapporten från Anna Lindqvist är godkänd." in client.get("/verify/").get_data(
        as_text=True
    )
    progress = course_progress(assignment, [completion], clock.today())
    assert progress.state == CourseState.VERIFIED

    # A second decision on the same report is refused and changes nothing.
    response = client.post_form(f"/verify/{completion.id}/reject", {"reason": "Fel intyg"})
    assert response.status_code == 302
    assert status_of(completion.id) == CompletionStatus.VERIFIED
    assert (
        count(
            AuditEvent, AuditEvent.action.like("completion.%ed"), AuditEvent.actor_id == manager.id
        )
        == 1
    )


def test_two_reviewers_deciding_at_once_make_one_decision(app, manager, hr, anna, nck, uploads):
    completion = report(anna, nck, uploads)
    outcomes: list[str] = []
    barrier = threading.Barrier(2, timeout=30)

    def review(reviewer_id: int, reject: bool) -> None:
        with app.app_context():
            reviewer = db.session.get(Employee, reviewer_id)
            target = db.session.get(Completion, completion.id)
            barrier.wait()
            try:
                if reject:
                    verification.reject_completion(
                        db.session, target, actor=reviewer, reason="Fel kurs"
                    )
                else:
                    verification.verify_completion(db.session, target, actor=reviewer)
                db.session.commit()
                outcomes.append("decided")
            except ReviewError:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=review, args=(manager.id, False)),
        threading.Thread(target=review, args=(hr.id, True)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["decided", "refused"]
    assert (
        count(AuditEvent, AuditEvent.action.in_(["completion.verified", "completion.rejected"]))
        == 1
    )
    final = status_of(completion.id)
    assert final in (CompletionStatus.VERIFIED, CompletionStatus.REJECTED)
    assert count(OutboxMessage, OutboxMessage.kind == "completion_rejected") == (
        1 if final == CompletionStatus.REJECTED else 0
    )


# --- Reject --------------------------------------------------------------------------------


def test_rejecting_needs_a_reason_and_changes_nothing_without_one(
    client, manager, anna, nck, uploads
):
    completion = report(anna, nck, uploads)
    client.sign_in(manager)

    for reason in ("", "   ", "x" * 1001):
        response = client.post_form(f"/verify/{completion.id}/reject", {"reason": reason})
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert 'class="error-summary"' in html
        assert ("Skriv varför rapporten avvisas" in html) or ("Högst 1000 tecken" in html)
        assert status_of(completion.id) == CompletionStatus.REPORTED
    assert count(OutboxMessage, OutboxMessage.kind == "completion_rejected") == 0
    assert count(AuditEvent, AuditEvent.action == "completion.rejected") == 0


def test_a_rejection_mails_the_employee_the_reason_and_a_link_to_report_again(
    app, client, smtp_server, manager, anna, nck, uploads, monkeypatch
):
    monkeypatch.setitem(app.config, "BASE_URL", "https://utbildning.example.se")
    assignment = factories.assignment(anna, nck)
    completion = report(anna, nck, uploads)
    client.sign_in(manager)

    response = client.post_form(
        f"/verify/{completion.id}/reject", {"reason": "Intyget gäller en annan kurs."}
    )

    assert response.status_code == 302
    db.session.expire_all()
    completion = db.session.get(Completion, completion.id)
    assert completion.status == CompletionStatus.REJECTED
    assert completion.rejection_reason == "Intyget gäller en annan kurs."
    assert count(AuditEvent, AuditEvent.action == "completion.rejected") == 1
    assert course_progress(assignment, [completion], clock.today()).state == CourseState.REJECTED

    outbox.deliver_outbox(db.session)
    db.session.commit()
    (mail,) = smtp_server.to(anna.email)
    assert subject_of(mail) == f"Rapportera kursen igen: {nck.title}"
    text = mail_text(mail)
    assert "Intyget gäller en annan kurs." in text
    assert f"https://utbildning.example.se/my/report?course={nck.id}" in text
    assert f"https://utbildning.example.se/my/completions/{completion.id}" in text
    assert "Intyget gäller en annan kurs." in mail_html(mail)

    # The employee sees the reason on their report.
    client.sign_in(anna)
    page = client.get(f"/my/completions/{completion.id}").get_data(as_text=True)
    assert "Intyget gäller en annan kurs." in page


def test_the_rejection_mail_is_in_the_employees_language(
    app, client, smtp_server, manager, ifo, nck, uploads
):
    erik = factories.employee(unit=ifo, first_name="Erik", language="en")
    completion = report(erik, nck, uploads)
    client.sign_in(manager)
    client.post_form(f"/verify/{completion.id}/reject", {"reason": "Wrong course"})

    outbox.deliver_outbox(db.session)
    (mail,) = smtp_server.to(erik.email)
    assert subject_of(mail).startswith("Report the course again")
    assert "Wrong course" in mail_text(mail)


# --- Bulk verify ---------------------------------------------------------------------------


def test_bulk_verify_approves_the_selected_reports_only(client, manager, ifo, nck, uploads):
    reports = [report(factories.employee(unit=ifo), nck, uploads) for _ in range(3)]
    client.sign_in(manager)

    response = client.post_form(
        "/verify/bulk", {"completion_ids": [str(reports[0].id), str(reports[2].id)]}
    )

    assert response.status_code == 302
    assert [status_of(r.id) for r in reports] == [
        CompletionStatus.VERIFIED,
        CompletionStatus.REPORTED,
        CompletionStatus.VERIFIED,
    ]
    assert count(AuditEvent, AuditEvent.action == "completion.verified") == 2
    assert "2 rapporter godkända." in client.get("/verify/").get_data(as_text=True)


def test_bulk_verify_with_a_tampered_id_changes_nothing(
    client, manager, anna, school, nck, uploads
):
    mine = report(anna, nck, uploads)
    elsewhere = report(factories.employee(unit=school), nck, uploads)
    client.sign_in(manager)

    for ids in ([str(mine.id), str(elsewhere.id)], [str(mine.id), "abc"], [], ["999999"]):
        response = client.post_form("/verify/bulk", {"completion_ids": ids})
        assert response.status_code == 302
        assert status_of(mine.id) == CompletionStatus.REPORTED
        assert status_of(elsewhere.id) == CompletionStatus.REPORTED
    assert count(AuditEvent, AuditEvent.action == "completion.verified") == 0
    html = client.get("/verify/").get_data(as_text=True)
    assert "Välj rapporter i listan." in html or "Markera minst en rapport" in html


def test_bulk_verify_skips_reports_someone_else_decided_meanwhile(
    client, manager, hr, ifo, nck, uploads
):
    first, second = (report(factories.employee(unit=ifo), nck, uploads) for _ in range(2))
    verification.verify_completion(db.session, first, actor=hr)
    db.session.commit()
    client.sign_in(manager)

    client.post_form("/verify/bulk", {"completion_ids": [str(first.id), str(second.id)]})

    assert status_of(second.id) == CompletionStatus.VERIFIED
    assert db.session.get(Completion, first.id).reviewed_by_id == hr.id
    html = client.get("/verify/").get_data(as_text=True)
    assert "1 rapport godkänd." in html
    assert "1 rapport var redan granskad av någon annan." in html


def report_without_certificate(person, course):  # type: ignore[no-untyped-def]
    """A report sent without a certificate, as the form allows."""
    result = report_completion(
        db.session,
        employee=person,
        data=ReportData(course_id=course.id, completed_on=clock.today() - timedelta(days=3)),
        stored=None,
        actor=person,
    )
    db.session.commit()
    return result.completion


@pytest.fixture()
def course_without_certificate(catalog):  # type: ignore[no-untyped-def]
    course = catalog["webbkursheder-hrv"]
    course.issues_certificate = False
    db.session.commit()
    return course


def test_bulk_verify_leaves_a_report_without_the_certificate_its_course_issues_waiting(
    client, manager, anna, ifo, nck, course_without_certificate, uploads
):
    """Approving many at once relies on the certificates having been seen: a report that lacks
    the one its course issues stays waiting, and the message names it; a report of a course
    that issues none is approved with the rest."""
    with_certificate = report(factories.employee(unit=ifo), nck, uploads)
    missing = report_without_certificate(anna, nck)
    none_issued = report_without_certificate(
        factories.employee(unit=ifo), course_without_certificate
    )
    client.sign_in(manager)

    response = client.post_form(
        "/verify/bulk",
        {"completion_ids": [str(with_certificate.id), str(missing.id), str(none_issued.id)]},
    )

    assert response.status_code == 302
    assert status_of(with_certificate.id) == CompletionStatus.VERIFIED
    assert status_of(missing.id) == CompletionStatus.REPORTED
    assert status_of(none_issued.id) == CompletionStatus.VERIFIED
    assert count(AuditEvent, AuditEvent.action == "completion.verified") == 2
    html = client.get("/verify/").get_data(as_text=True)
    assert "2 rapporter godkända." in html
    assert (
        "1 rapport godkändes inte, eftersom intyget saknas fast kursen ger ett: "
        "Anna Lindqvist (Webbkurs om våld). Öppna rapporten och avgör den för sig."
    ) in html
    # It is still in the queue, marked as lacking its certificate.
    assert "Inget intyg, fast kursen ger ett" in html


def test_bulk_verify_of_reports_that_all_lack_their_certificate_approves_none(
    client, manager, ifo, nck, uploads
):
    missing = [report_without_certificate(factories.employee(unit=ifo), nck) for _ in range(2)]
    client.sign_in(manager)

    client.post_form("/verify/bulk", {"completion_ids": [str(c.id) for c in missing]})

    assert [status_of(c.id) for c in missing] == [CompletionStatus.REPORTED] * 2
    assert count(AuditEvent, AuditEvent.action == "completion.verified") == 0
    html = client.get("/verify/").get_data(as_text=True)
    assert "2 rapporter godkändes inte, eftersom intyget saknas fast kursen ger ett" in html
    assert "Öppna rapporterna och avgör dem en och en." in html
    assert "godkända." not in html  # no "0 rapporter godkända."


def test_bulk_verify_says_in_english_what_it_left_waiting(client, manager, anna, nck):
    missing = report_without_certificate(anna, nck)
    manager.preferred_language = "en"
    db.session.commit()
    client.sign_in(manager)

    client.post_form("/verify/bulk", {"completion_ids": [str(missing.id)]})

    html = client.get("/verify/").get_data(as_text=True)
    assert "1 report was not approved, because the certificate is missing" in html


def test_selected_reports_decided_meanwhile_count_as_reviewed_not_as_missing_a_certificate(
    manager, hr, ifo, nck, uploads
):
    decided = report_without_certificate(factories.employee(unit=ifo), nck)
    verification.verify_completion(db.session, decided, actor=hr)
    fine = report(factories.employee(unit=ifo), nck, uploads)
    db.session.commit()

    result = verification.verify_selected(db.session, [decided.id, fine.id, fine.id], actor=manager)

    assert [c.id for c in result.verified] == [fine.id]
    assert result.without_certificate == []
    assert result.already_reviewed == 1


def test_bulk_verify_outside_the_scope_refuses_the_whole_selection_even_without_certificates(
    manager, anna, school, nck
):
    mine = report_without_certificate(anna, nck)
    elsewhere = report_without_certificate(factories.employee(unit=school), nck)

    with pytest.raises(ReviewError):
        verification.verify_selected(db.session, [mine.id, elsewhere.id], actor=manager)


def test_the_review_page_says_plainly_that_no_certificate_was_attached(client, manager, anna, nck):
    missing = report_without_certificate(anna, nck)
    client.sign_in(manager)

    html = client.get(f"/verify/{missing.id}").get_data(as_text=True)

    assert "Stämmer intyget" not in html
    assert "Inget intyg bifogades, fast kursen ger ett intyg." in html
    assert "medarbetaren kan ladda upp intyget i sin rapport" in html
    assert "avvisa rapporten med ett skäl" in html
    assert "Godkänn den bara om du på annat sätt vet att kursen är gjord" in html


def test_the_review_page_of_a_course_without_certificate_asks_only_whether_it_was_done(
    client, manager, anna, course_without_certificate
):
    missing = report_without_certificate(anna, course_without_certificate)
    client.sign_in(manager)

    html = client.get(f"/verify/{missing.id}").get_data(as_text=True)

    assert "Stämmer intyget" not in html
    assert "Inget intyg bifogades. Kursen ger inget intyg." in html
    assert "fast kursen ger ett intyg" not in html
    assert "Vet du att kursen är gjord? Då godkänner du rapporten" in html


def test_the_review_page_with_a_certificate_still_asks_whether_it_matches(
    client, manager, anna, nck, uploads
):
    reported = report(anna, nck, uploads)
    client.sign_in(manager)

    html = client.get(f"/verify/{reported.id}").get_data(as_text=True)

    assert "Stämmer intyget med rapporten?" in html
    assert "Inget intyg bifogades" not in html


# --- Opening a certificate -----------------------------------------------------------------


def test_the_certificate_is_served_inline_with_its_proven_type_to_those_who_may_see_it(
    client, manager, hr, anna, ifo, nck, uploads
):
    completion = report(anna, nck, uploads)
    evidence = completion.evidence[0]
    admin = factories.with_role(factories.employee(), Role.ADMIN)

    for person in (anna, manager, hr, admin):
        client.sign_in(person)
        response = client.get(f"/evidence/{evidence.id}")
        assert response.status_code == 200, person.email
        assert response.mimetype == "application/pdf"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Disposition"].startswith("inline")
        assert "intyg.pdf" in response.headers["Content-Disposition"]
        assert response.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
        assert response.data.startswith(b"%PDF-")

    client.sign_in(anna)
    download = client.get(f"/evidence/{evidence.id}?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(
    ("content", "uploaded_as", "downloaded_as"),
    [
        pytest.param(png_bytes(), "intyg.html", "intyg.png", id="png-named-html"),
        pytest.param(None, "Intyg Anna.svg", "Intyg Anna.pdf", id="pdf-named-svg"),
        pytest.param(None, "intyg", "intyg.pdf", id="pdf-without-extension"),
    ],
)
def test_a_certificate_gets_the_extension_of_its_proven_type_never_the_uploaders(
    client, anna, nck, uploads, content, uploaded_as, downloaded_as
):
    evidence = report(anna, nck, uploads, content=content).evidence[0]
    evidence.original_filename = uploaded_as  # as the browser named it
    db.session.commit()
    client.sign_in(anna)

    for query in ("", "?download=1"):
        response = client.get(f"/evidence/{evidence.id}{query}")
        _kind, options = parse_options_header(response.headers["Content-Disposition"])
        assert options == {"filename": downloaded_as}


def test_nobody_else_can_open_a_certificate(client, anna, ifo, school, nck, uploads):
    evidence_id = report(anna, nck, uploads).evidence[0].id
    colleague = factories.employee(unit=ifo)
    other_manager = factories.with_role(
        factories.employee(unit=school), Role.MANAGER, on_unit=school
    )
    other_hr = factories.with_role(factories.employee(), Role.HR, municipality_name="Sigtuna")
    coordinator = factories.with_role(
        factories.employee(), Role.COORDINATOR, municipality_name="Järfälla"
    )

    for person in (colleague, other_manager, other_hr, coordinator):
        client.sign_in(person)
        response = client.get(f"/evidence/{evidence_id}")
        assert response.status_code == 404, person.email
        assert b"%PDF" not in response.data
    client.post_form("/logout")
    assert client.get(f"/evidence/{evidence_id}").status_code == 302


def test_a_certificate_whose_file_is_missing_answers_404(client, anna, nck, uploads):
    completion = report(anna, nck, uploads)
    evidence = completion.evidence[0]
    (uploads / evidence.storage_name).unlink()
    client.sign_in(anna)

    assert client.get(f"/evidence/{evidence.id}").status_code == 404


def test_the_reading_is_stored_with_the_certificate_when_it_is_reported(anna, nck, uploads):
    completion = report(anna, nck, uploads)

    (evidence,) = db.session.scalars(
        sa.select(Evidence).where(Evidence.completion_id == completion.id)
    ).all()
    assert evidence.reading["status"] == "read"
    assert evidence.reading["name"] == "matched"
    assert evidence.reading["date"] == "matched"
    assert re.fullmatch(r"[0-9a-f]{32}\.pdf", evidence.storage_name)


def test_a_long_queue_is_paged_keeping_its_filters(
    app, client, manager, ifo, nck, uploads, monkeypatch
):
    monkeypatch.setitem(app.config, "VERIFICATION_PER_PAGE", 2)
    for _ in range(3):
        report(factories.employee(unit=ifo), nck, uploads)
    client.sign_in(manager)

    first = client.get(f"/verify/?course={nck.id}").get_data(as_text=True)
    assert f'href="/verify/?course={nck.id}&amp;page=2" rel="next"' in first
    assert "Sida 1 av 2" in first
    second = client.get(f"/verify/?course={nck.id}&page=2").get_data(as_text=True)
    assert "Sida 2 av 2" in second and 'rel="prev"' in second
