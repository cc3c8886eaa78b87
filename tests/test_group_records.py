"""HR records a course completed by a group (a session run by the coordinator) for several
employees at once: verified by HR, audited per person, one transaction, nobody outside HR's
scope, and nobody recorded twice."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import count
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import (
    AuditEvent,
    Completion,
    CompletionStatus,
    CourseStatus,
    Employee,
    Role,
    Sector,
)
from training_tracker.services.training.completions import CompletionError
from training_tracker.services.training.group_records import (
    GroupRecordError,
    _submission_key,
    attendee_candidates,
    parse_attendance_list,
    record_group_completion,
)

NCK = "nck-webbkurs-om-vald"
URL = "/employees/record-completions"


def completions_of(course) -> list[Completion]:  # type: ignore[no-untyped-def]
    return list(
        db.session.scalars(
            sa.select(Completion).where(Completion.course_id == course.id).order_by(Completion.id)
        )
    )


def recorded_events() -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "completion.recorded")
            .order_by(AuditEvent.id)
        )
    )


@pytest.fixture()
def nck():  # type: ignore[no-untyped-def]
    return factories.synced_catalog()[NCK]


@pytest.fixture()
def ifo():  # type: ignore[no-untyped-def]
    return factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")


@pytest.fixture()
def school():  # type: ignore[no-untyped-def]
    return factories.unit("Järfälla", Sector.SCHOOL, "Viksjöskolan")


@pytest.fixture()
def sigtuna_person():  # type: ignore[no-untyped-def]
    unit = factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO Sigtuna")
    return factories.employee(unit=unit, first_name="Sigge", last_name="Sigtunasson")


def staff(unit, *names: str) -> list[Employee]:  # type: ignore[no-untyped-def]
    return [
        factories.employee(
            unit=unit, first_name=name, last_name="Berg", email=f"{name.lower()}@jarfalla.example"
        )
        for name in names
    ]


def record(actor, course, people, *, on=None, today=None, **kwargs):  # type: ignore[no-untyped-def]
    return record_group_completion(
        db.session,
        actor=actor,
        course_id=course.id,
        completed_on=on or clock.today() - timedelta(days=3),
        employee_ids=[p.id for p in people],
        note=kwargs.pop("note", "Utbildningsdag"),
        today=today or clock.today(),
        **kwargs,
    )


# --- the service ----------------------------------------------------------------------------


def test_everyone_gets_a_verified_completion_with_expiry_and_an_audit_row(nck, ifo):
    nck.validity_months = 36
    db.session.commit()
    me = factories.hr_staff()
    people = staff(ifo, "Lisa", "Per", "Omar")
    day = date(2026, 1, 31)

    result = record(me, nck, people, on=day, today=date(2026, 2, 10))
    db.session.commit()

    assert [p.first_name for p in result.recorded] == ["Lisa", "Omar", "Per"]  # by name
    assert result.already_recorded == []
    rows = completions_of(nck)
    assert {c.employee_id for c in rows} == {p.id for p in people}
    for row in rows:
        assert row.status == CompletionStatus.VERIFIED
        assert (row.reported_by_id, row.reviewed_by_id) == (me.id, me.id)
        assert row.reviewed_at is not None
        assert row.completed_on == day
        assert row.expires_on == date(2029, 1, 31)
        assert row.note == "Utbildningsdag"
        assert row.evidence == []  # HR attests: no certificate
    events = recorded_events()
    assert {e.subject_employee_id for e in events} == {p.id for p in people}
    assert {e.object_id for e in events} == {c.id for c in rows}
    for event in events:
        assert event.actor_id == me.id
        assert event.object_type == "completion"
        assert event.details["course"] == NCK
        assert event.details["completed_on"] == "2026-01-31"


def test_a_course_without_validity_never_expires(nck, ifo):
    result = record(factories.hr_staff(), nck, staff(ifo, "Lisa"))
    assert result.completions[0].expires_on is None


def test_someone_outside_the_scope_refuses_the_whole_request(nck, ifo, sigtuna_person):
    people = staff(ifo, "Lisa", "Per")
    with pytest.raises(GroupRecordError) as refused:
        record(factories.hr_staff(), nck, [*people, sigtuna_person])
    db.session.rollback()
    assert refused.value.field == "employee_ids"
    message = str(refused.value)
    assert "1 av de valda personerna finns inte bland personalen du hanterar" in message
    assert "Sigge" not in message and "Sigtuna" not in message  # reveals nobody
    assert count(Completion) == 0
    assert recorded_events() == []


def test_an_unknown_id_and_a_system_account_are_out_of_reach(nck, ifo):
    system = factories.employee(system_account=True)
    for ids in ([999_999], [system.id]):
        with pytest.raises(GroupRecordError):
            record_group_completion(
                db.session,
                actor=factories.admin(),
                course_id=nck.id,
                completed_on=clock.today(),
                employee_ids=ids,
                note="",
            )
        db.session.rollback()
    assert count(Completion) == 0


def test_a_leaver_is_refused_by_name(nck, ifo):
    lisa, per = staff(ifo, "Lisa", "Per")
    per.active = False
    per.end_date = clock.today() - timedelta(days=5)
    db.session.commit()
    with pytest.raises(GroupRecordError, match="Per Berg har slutat"):
        record(factories.hr_staff(), nck, [lisa, per])
    db.session.rollback()
    assert count(Completion) == 0


def test_an_end_date_today_counts_as_left_before_the_nightly_job(nck, ifo):
    [lisa] = staff(ifo, "Lisa")
    lisa.end_date = clock.today()
    db.session.commit()
    with pytest.raises(GroupRecordError, match="har slutat"):
        record(factories.hr_staff(), nck, [lisa])


def test_a_date_in_the_future_is_refused(nck, ifo):
    with pytest.raises(CompletionError) as refused:
        record(factories.hr_staff(), nck, staff(ifo, "Lisa"), on=clock.today() + timedelta(days=1))
    assert refused.value.field == "completed_on"
    assert count(Completion) == 0


@pytest.mark.parametrize("how", ["unknown", "inactive"])
def test_an_unknown_or_inactive_course_is_refused(nck, ifo, how):
    if how == "inactive":
        nck.status = CourseStatus.INACTIVE
        db.session.commit()
        course_id = nck.id
    else:
        course_id = 999_999
    with pytest.raises(CompletionError) as refused:
        record_group_completion(
            db.session,
            actor=factories.hr_staff(),
            course_id=course_id,
            completed_on=clock.today(),
            employee_ids=[p.id for p in staff(ifo, "Lisa")],
        )
    assert refused.value.field == "course_id"
    assert count(Completion) == 0


def test_nobody_chosen_is_refused(nck):
    with pytest.raises(GroupRecordError, match="Bocka i minst en person"):
        record(factories.hr_staff(), nck, [])


def test_who_already_holds_a_verified_completion_from_that_day_or_later_is_skipped(nck, ifo):
    day = clock.today() - timedelta(days=30)
    later, same, earlier, reported, rejected = staff(
        ifo, "Later", "Same", "Earlier", "Reported", "Rejected"
    )
    factories.completion(later, nck, completed_on=day + timedelta(days=1))
    factories.completion(same, nck, completed_on=day)
    factories.completion(earlier, nck, completed_on=day - timedelta(days=1))
    factories.completion(reported, nck, completed_on=day, status=CompletionStatus.REPORTED)
    factories.completion(rejected, nck, completed_on=day, status=CompletionStatus.REJECTED)

    result = record(factories.hr_staff(), nck, [later, same, earlier, reported, rejected], on=day)
    db.session.commit()

    assert {p.first_name for p in result.already_recorded} == {"Later", "Same"}
    assert {p.first_name for p in result.recorded} == {"Earlier", "Reported", "Rejected"}
    assert len(recorded_events()) == 3
    # The same list again records nothing new.
    again = record(factories.hr_staff(), nck, [later, same, earlier, reported, rejected], on=day)
    assert again.recorded == [] and len(again.already_recorded) == 5


def test_an_expired_completion_does_not_count_as_already_recorded(nck, ifo):
    nck.validity_months = 12
    db.session.commit()
    [lisa] = staff(ifo, "Lisa")
    old = factories.completion(lisa, nck, completed_on=date(2024, 1, 10))
    old.expires_on = date(2025, 1, 10)
    db.session.commit()
    result = record(factories.hr_staff(), nck, [lisa], on=date(2024, 1, 10), today=date(2026, 3, 1))
    assert [p.id for p in result.recorded] == [lisa.id]


def test_the_same_form_recorded_twice_at_once_stores_it_once(nck, ifo):
    """A request that loses the race meets the other's rows through the unique key."""
    [lisa] = staff(ifo, "Lisa")
    key = "k" * 32
    # What the first request wrote (not yet verified, so the skip does not catch it).
    db.session.add(
        Completion(
            employee_id=lisa.id,
            course_id=nck.id,
            completed_on=clock.today(),
            status=CompletionStatus.REPORTED,
            submission_key=_submission_key(key, lisa.id),
        )
    )
    db.session.commit()
    result = record(factories.hr_staff(), nck, [lisa], on=clock.today(), submission_key=key)
    db.session.commit()
    assert result.recorded == [] and [p.id for p in result.already_recorded] == [lisa.id]
    assert count(Completion) == 1
    assert recorded_events() == []


def test_a_pasted_list_names_people_by_email_or_employee_number(nck, ifo):
    lisa, per, omar = staff(ifo, "Lisa", "Per", "Omar")
    text = f"""
        LISA@jarfalla.example
        Per Berg <per@jarfalla.example>;
        {omar.employee_number}

        lisa@jarfalla.example
    """
    identifiers = parse_attendance_list(text)
    assert identifiers == [
        "LISA@jarfalla.example",
        "per@jarfalla.example",
        omar.employee_number,
    ]
    result = record(
        factories.hr_staff(), nck, [lisa], identifiers=identifiers
    )  # Lisa ticked and pasted
    assert {p.id for p in result.recorded} == {lisa.id, per.id, omar.id}
    assert count(Completion) == 3


def test_a_pasted_list_with_unknown_lines_names_them_and_stores_nothing(nck, ifo, sigtuna_person):
    staff(ifo, "Lisa")
    identifiers = ["lisa@jarfalla.example", "okand@jarfalla.example", sigtuna_person.email, "X-1"]
    with pytest.raises(GroupRecordError) as refused:
        record(factories.hr_staff(), nck, [], identifiers=identifiers)
    db.session.rollback()
    assert refused.value.field == "identifiers"
    message = str(refused.value)
    assert "okand@jarfalla.example" in message and "X-1" in message
    # Someone of another municipality is as unknown as a typo: nothing tells them apart.
    assert sigtuna_person.email in message
    assert "lisa@jarfalla.example" not in message
    assert count(Completion) == 0


def test_an_employee_number_in_two_municipalities_asks_for_the_email(nck, ifo, sigtuna_person):
    [lisa] = staff(ifo, "Lisa")
    lisa.employee_number = sigtuna_person.employee_number = "1001"
    db.session.commit()
    with pytest.raises(GroupRecordError, match="finns i flera kommuner: 1001"):
        record(factories.admin(), nck, [], identifiers=["1001"])
    # HR of Järfälla reaches only Lisa: no ambiguity there.
    result = record(factories.hr_staff(), nck, [], identifiers=["1001"])
    assert [p.id for p in result.recorded] == [lisa.id]


def test_an_admin_records_across_municipalities(nck, ifo, sigtuna_person):
    [lisa] = staff(ifo, "Lisa")
    result = record(factories.admin(), nck, [lisa, sigtuna_person])
    assert {p.id for p in result.recorded} == {lisa.id, sigtuna_person.id}


def test_the_number_of_queries_does_not_grow_with_the_group(app, nck, ifo):
    def statements_for(people: list[Employee]) -> int:
        seen: list[str] = []

        def count_statement(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            seen.append(statement)

        me, course_id, ids = factories.hr_staff(), nck.id, [p.id for p in people]
        db.session.expire_all()
        sa.event.listen(db.engine, "before_cursor_execute", count_statement)
        try:
            record_group_completion(
                db.session,
                actor=me,
                course_id=course_id,
                completed_on=clock.today(),
                employee_ids=ids,
            )
            db.session.flush()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count_statement)
        db.session.rollback()
        return len([s for s in seen if s.lstrip().upper().startswith("SELECT")])

    few = staff(ifo, "A", "B")
    many = staff(ifo, *[f"P{i}" for i in range(25)])
    assert statements_for(many) == statements_for(few)


def test_the_pick_list_holds_employed_staff_in_scope_filtered(ifo, school, sigtuna_person):
    lisa, per = staff(ifo, "Lisa", "Per")
    [eva] = staff(school, "Eva")
    gone = factories.employee(unit=ifo, first_name="Gone", active=False)
    me = factories.hr_staff()
    everyone = attendee_candidates(db.session, me)
    ids = {p.id for p in everyone.employees}
    assert {lisa.id, per.id, eva.id, me.id} <= ids
    assert sigtuna_person.id not in ids and gone.id not in ids
    by_unit = attendee_candidates(db.session, me, unit_id=school.id)
    assert [p.id for p in by_unit.employees] == [eva.id]
    by_name = attendee_candidates(db.session, me, text="lisa b")
    assert [p.id for p in by_name.employees] == [lisa.id]
    capped = attendee_candidates(db.session, me, limit=2)
    assert len(capped.employees) == 2 and capped.total == everyone.total and capped.truncated


# --- the page -------------------------------------------------------------------------------


def form_data(chosen, people=(), **overrides) -> dict:  # type: ignore[no-untyped-def]
    data: dict = {
        "course": str(chosen.id),
        "completed_on": (clock.today() - timedelta(days=3)).isoformat(),
        "note": "Utbildningsdag med samordnaren",
        "employees": [str(p.id) for p in people],
        "identifiers": "",
    }
    data.update(overrides)
    return data


def test_hr_records_a_group_and_sees_how_many(client, nck, ifo):
    people = staff(ifo, "Lisa", "Per")
    me = factories.hr_staff()
    client.sign_in(me)
    response = client.post_form(f"{URL}?unit={ifo.id}", form_data(nck, people))
    assert response.status_code == 302
    assert response.location == f"{URL}?unit={ifo.id}"  # back to the same list, for more
    page = client.get(response.location).get_data(as_text=True)
    assert "Genomförd kurs registrerad för 2 personer" in page
    rows = completions_of(nck)
    assert {c.employee_id for c in rows} == {p.id for p in people}
    assert all(c.status == CompletionStatus.VERIFIED and c.reviewed_by_id == me.id for c in rows)
    assert len(recorded_events()) == 2


def test_the_page_tells_who_was_skipped(client, nck, ifo):
    lisa, per = staff(ifo, "Lisa", "Per")
    factories.completion(lisa, nck, completed_on=clock.today())
    client.sign_in(factories.hr_staff())
    page = client.post_form(URL, form_data(nck, [lisa, per]), follow_redirects=True).get_data(
        as_text=True
    )
    assert "Genomförd kurs registrerad för 1 person:" in page
    assert "1 person hade redan kursen godkänd" in page and "Lisa Berg" in page
    assert count(Completion) == 2  # Lisa's own, and Per's new one


def test_the_page_lists_only_the_staff_of_hrs_municipality(client, ifo, school, sigtuna_person):
    lisa, per = staff(ifo, "Lisa", "Per")
    [eva] = staff(school, "Eva")
    client.sign_in(factories.hr_staff())
    page = client.get(URL).get_data(as_text=True)
    for person in (lisa, per, eva):
        assert f'id="employee-{person.id}"' in page
    assert f'id="employee-{sigtuna_person.id}"' not in page and "Sigtunasson" not in page
    # Filtered by unit, then by name.
    page = client.get(f"{URL}?unit={school.id}").get_data(as_text=True)
    assert f'id="employee-{eva.id}"' in page and f'id="employee-{lisa.id}"' not in page
    page = client.get(f"{URL}?q=Per").get_data(as_text=True)
    assert f'id="employee-{per.id}"' in page and f'id="employee-{lisa.id}"' not in page
    # A unit of another municipality in the address is dropped, as on the employee list.
    sigtuna_unit = sigtuna_person.unit_id
    page = client.get(f"{URL}?unit={sigtuna_unit}").get_data(as_text=True)
    assert f'id="employee-{lisa.id}"' in page and "Sigtunasson" not in page


def test_tick_all_prechecks_the_listed_people(client, ifo):
    lisa, per = staff(ifo, "Lisa", "Per")
    client.sign_in(factories.hr_staff())
    page = client.get(f"{URL}?unit={ifo.id}&all=1").get_data(as_text=True)
    for person in (lisa, per):
        assert re.search(rf'id="employee-{person.id}"[^>]*checked', page)


def test_the_form_is_accessible(client, nck, ifo):
    [lisa] = staff(ifo, "Lisa")
    client.sign_in(factories.hr_staff())
    page = client.get(URL).get_data(as_text=True)
    assert page.count("<h1>") == 1
    assert '<fieldset id="employees"' in page and "<legend>Deltagare</legend>" in page
    assert f'<label for="employee-{lisa.id}">' in page
    assert '<label for="identifiers">' in page and '<label for="course">' in page
    assert f'max="{clock.today().isoformat()}"' in page
    assert 'role="search"' in page


def test_a_tampered_post_with_someone_of_another_municipality_stores_nothing(
    client, nck, ifo, sigtuna_person
):
    people = staff(ifo, "Lisa")
    client.sign_in(factories.hr_staff())
    response = client.post_form(URL, form_data(nck, [*people, sigtuna_person]))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "finns inte bland personalen du hanterar" in page
    assert 'href="#employees"' in page  # the error summary leads to the list
    assert "Sigtunasson" not in page
    assert count(Completion) == 0 and recorded_events() == []


def test_hr_of_another_municipality_cannot_record_for_jarfalla(client, nck, ifo):
    people = staff(ifo, "Lisa")
    client.sign_in(factories.hr_staff("Sigtuna"))
    page = client.get(URL).get_data(as_text=True)
    assert f'id="employee-{people[0].id}"' not in page
    response = client.post_form(URL, form_data(nck, people))
    assert response.status_code == 422
    assert count(Completion) == 0


def test_a_post_without_the_csrf_token_is_refused(client, nck, ifo):
    people = staff(ifo, "Lisa")
    client.sign_in(factories.hr_staff())
    response = client.post(URL, data=form_data(nck, people))
    assert response.status_code == 400
    assert count(Completion) == 0
    response = client.post(URL, data={**form_data(nck, people), "csrf_token": "forged"})
    assert response.status_code == 400
    assert count(Completion) == 0


def test_a_malformed_id_is_refused_in_words(client, nck, ifo):
    client.sign_in(factories.hr_staff())
    response = client.post_form(URL, form_data(nck, [], employees=["abc"]))
    assert response.status_code == 422
    assert "Listan över deltagare gick inte att läsa" in response.get_data(as_text=True)
    assert count(Completion) == 0


def test_a_future_date_on_the_page(client, nck, ifo):
    client.sign_in(factories.hr_staff())
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    response = client.post_form(URL, form_data(nck, staff(ifo, "Lisa"), completed_on=tomorrow))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Datumet kan inte vara senare än i dag." in page
    assert 'href="#completed_on"' in page
    assert count(Completion) == 0


def test_an_unknown_course_on_the_page(client, nck, ifo):
    people = staff(ifo, "Lisa")
    client.sign_in(factories.hr_staff())
    for value in ("999999", "abc", ""):
        response = client.post_form(URL, form_data(nck, people, course=value))
        assert response.status_code == 422
        assert 'href="#course"' in response.get_data(as_text=True)
    assert count(Completion) == 0


def test_a_pasted_list_on_the_page(client, nck, ifo):
    _lisa, per = staff(ifo, "Lisa", "Per")
    client.sign_in(factories.hr_staff())
    pasted = f"lisa@jarfalla.example\n{per.employee_number}\nnoll@jarfalla.example\n"
    response = client.post_form(URL, form_data(nck, [], identifiers=pasted))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "noll@jarfalla.example" in page and 'href="#identifiers"' in page
    assert 'aria-invalid="true"' in page
    assert count(Completion) == 0

    pasted = f"lisa@jarfalla.example\n{per.employee_number}\n"
    response = client.post_form(URL, form_data(nck, [], identifiers=pasted), follow_redirects=True)
    assert "Genomförd kurs registrerad för 2 personer" in response.get_data(as_text=True)
    assert count(Completion) == 2


def test_a_refused_form_keeps_what_was_ticked_and_typed(client, nck, ifo):
    lisa, per = staff(ifo, "Lisa", "Per")
    client.sign_in(factories.hr_staff())
    response = client.post_form(
        URL, form_data(nck, [lisa], identifiers="okand@jarfalla.example", note="Dag 1")
    )
    page = response.get_data(as_text=True)
    assert re.search(rf'id="employee-{lisa.id}"[^>]*checked', page)
    assert not re.search(rf'id="employee-{per.id}"[^>]*checked', page)
    assert "Dag 1" in page and "okand@jarfalla.example" in page


def test_only_hr_and_admins_reach_the_page(client, ifo):
    manager = factories.employee(unit=ifo)
    factories.with_role(manager, Role.MANAGER, on_unit=ifo)
    client.sign_in(manager)
    assert client.get(URL).status_code == 403
    assert client.post_form(URL, {}).status_code == 403


def test_an_admin_records_for_another_municipality_on_the_page(client, nck, sigtuna_person):
    client.sign_in(factories.admin())
    page = client.get(URL).get_data(as_text=True)
    assert f'id="employee-{sigtuna_person.id}"' in page
    response = client.post_form(URL, form_data(nck, [sigtuna_person]))
    assert response.status_code == 302
    assert [c.employee_id for c in completions_of(nck)] == [sigtuna_person.id]


def test_the_employee_list_links_to_the_page(client):
    client.sign_in(factories.hr_staff())
    page = client.get("/employees/").get_data(as_text=True)
    assert f'href="{URL}"' in page


# --- the attendee list: first in the form, with a filter and "tick all shown" -------------


def test_the_attendee_list_comes_first_with_its_filter_and_tick_all(client, nck, ifo):
    staff(ifo, "Lisa", "Per")
    client.sign_in(factories.hr_staff())
    page = client.get(URL).get_data(as_text=True)
    form = page[page.index('<form method="post" action="/employees/record-completions') :]
    assert form.index("<legend>Deltagare</legend>") < form.index("<legend>Kurs och datum</legend>")
    # The filter box is app.js's to show (the search above narrows the list without it).
    assert re.search(r'<div class="field" data-attendee-filter="attendee-list" hidden>', form)
    assert '<label for="attendee-filter">Filtrera listan</label>' in form
    assert "Visar {shown} av 3 anställda." in form  # Lisa, Per and HR themself
    assert re.search(
        r'<button type="submit" name="pick" value="shown"[^>]*>Bocka i alla som visas<', form
    )


def test_tick_all_shown_without_js_ticks_the_list_and_keeps_the_form(client, nck, ifo):
    lisa, per = staff(ifo, "Lisa", "Per")
    client.sign_in(factories.hr_staff())
    data = form_data(nck, [], note="Heldag i kommunhuset", pick="shown")
    response = client.post_form(f"{URL}?unit={ifo.id}", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for person in (lisa, per):
        assert re.search(rf'id="employee-{person.id}"[^>]*checked', page)
    assert "Heldag i kommunhuset" in page  # what was filled in stays
    assert f'<option selected value="{nck.id}">' in page
    assert "error-summary" not in page
    assert count(Completion) == 0  # nothing recorded by picking

    response = client.post_form(URL, form_data(nck, [lisa, per], pick="none"))
    assert response.status_code == 200
    assert not re.search(r'id="employee-\d+"[^>]*checked', response.get_data(as_text=True))
    assert count(Completion) == 0
