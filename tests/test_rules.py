"""Requirement rules: the service (reach, checks, scope) and the pages HR and admins use."""

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
    Assignment,
    AuditEvent,
    CompletionStatus,
    Course,
    CourseStatus,
    Employee,
    RequirementRule,
    Role,
    Sector,
    Unit,
)
from training_tracker.services.training import rules
from training_tracker.services.training.assignments import open_assignment
from training_tracker.services.training.rules import RuleData, RuleError, RuleReach

TODAY = date(2026, 6, 15)
START = date(2026, 3, 1)
OLD_HIRE = date(2015, 1, 1)


@pytest.fixture()
def course() -> Course:
    return factories.synced_catalog()["nck-webbkurs-om-vald"]


@pytest.fixture()
def ifo() -> Unit:
    return factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")


def hr_of(municipality_name: str = "Järfälla") -> Employee:
    home = factories.unit(municipality_name, Sector.OTHER, f"HR {municipality_name}")
    return factories.with_role(
        factories.employee(unit=home), Role.HR, municipality_name=municipality_name
    )


def admin() -> Employee:
    return factories.with_role(factories.employee(system_account=True), Role.ADMIN)


def person(unit: Unit, hired: date = OLD_HIRE) -> Employee:
    return factories.employee(unit=unit, hire_date=hired, password=None)


def data(course: Course, **overrides) -> RuleData:  # type: ignore[no-untyped-def]
    values = {
        "course_id": course.id,
        "municipality_id": factories.municipality("Järfälla").id,
        "sector": Sector.SOCIAL_SERVICES,
        "unit_id": None,
        "due_days": 30,
        "applies_from": START,
    }
    return RuleData(**{**values, **overrides})


def assignment_of(employee: Employee, course: Course) -> Assignment | None:
    return db.session.scalars(
        sa.select(Assignment).where(
            Assignment.employee_id == employee.id, Assignment.course_id == course.id
        )
    ).one_or_none()


def is_open(assignment: Assignment, today: date) -> bool:
    return bool(
        db.session.scalar(sa.select(open_assignment(today)).where(Assignment.id == assignment.id))
    )


def totals() -> tuple[int, int, int]:
    """Rules, assignments and rule audit events (signing in is audited too)."""
    rule_events = db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.action.like("rule.%"))
    )
    return count(RequirementRule), count(Assignment), rule_events


# -- rule_reach: "applies to N employees, M of whom have not completed the course" ---------


@pytest.fixture()
def population(course, ifo) -> dict[str, Employee]:
    """Järfälla social services: 6 employed (one a new hire), 3 of them with a completion that
    counts; two leavers; a school in Järfälla; social services in Sigtuna."""
    school = factories.unit("Järfälla", Sector.SCHOOL, "Viksjöskolan")
    sigtuna = factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO Sigtuna")
    people = {
        "untrained": person(ifo),
        "verified": person(ifo),
        "reported": person(ifo),
        "expired": person(ifo),
        "rejected": person(ifo),
        "new_hire": person(ifo, date(2026, 4, 1)),
        "inactive": person(ifo),
        "left": person(ifo),
        "school": person(school),
        "sigtuna": person(sigtuna),
    }
    factories.completion(people["verified"], course, completed_on=date(2024, 5, 1))
    factories.completion(people["reported"], course, status=CompletionStatus.REPORTED)
    expired = factories.completion(people["expired"], course, completed_on=date(2022, 1, 1))
    expired.expires_on = date(2024, 1, 1)
    factories.completion(people["rejected"], course, status=CompletionStatus.REJECTED)
    factories.completion(people["inactive"], course)
    people["inactive"].active = False
    people["left"].end_date = TODAY - timedelta(days=1)
    factories.completion(people["sigtuna"], course)
    db.session.commit()
    return people


def test_reach_of_a_sector_rule_in_one_municipality(course, population):
    # Employed in Järfälla social services: untrained, verified, reported, expired, rejected,
    # new_hire (6). Without a completion that counts: untrained, expired, rejected, new_hire.
    assert rules.rule_reach(db.session, data(course), today=TODAY) == RuleReach(6, 4)


def test_reach_with_every_sector_adds_the_school(course, population):
    reach = rules.rule_reach(db.session, data(course, sector=None), today=TODAY)
    assert reach == RuleReach(7, 5)


def test_reach_of_a_rule_for_every_municipality_adds_sigtuna(course, population):
    reach = rules.rule_reach(db.session, data(course, municipality_id=None), today=TODAY)
    assert reach == RuleReach(7, 4)  # Sigtuna's one person has completed it


def test_reach_for_new_hires_or_existing_staff_only(course, population):
    new_only = data(course, for_new_hires=True, for_existing_staff=False)
    existing_only = data(course, for_new_hires=False, for_existing_staff=True)
    assert rules.rule_reach(db.session, new_only, today=TODAY) == RuleReach(1, 1)
    assert rules.rule_reach(db.session, existing_only, today=TODAY) == RuleReach(5, 3)


def test_reach_of_a_unit_rule_and_of_an_ended_rule(course, ifo, population):
    unit_rule = data(course, sector=None, unit_id=ifo.id)
    assert rules.rule_reach(db.session, unit_rule, today=TODAY) == RuleReach(6, 4)
    ended = data(course, ends_on=TODAY)
    assert rules.rule_reach(db.session, ended, today=TODAY) == RuleReach(0, 0)
    course.status = CourseStatus.INACTIVE
    db.session.commit()
    assert rules.rule_reach(db.session, data(course), today=TODAY) == RuleReach(0, 0)


def test_reach_matches_what_saving_the_rule_assigns(course, population):
    rule, changes = rules.create_rule(db.session, admin(), data(course), today=TODAY)
    db.session.commit()
    assert changes.created == 6
    open_count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Assignment)
        .where(Assignment.rule_id == rule.id, open_assignment(TODAY))
    )
    assert open_count == 4


# -- check_rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"due_days": -1}, "due_days"),
        ({"due_days": 3651}, "due_days"),
        ({"for_new_hires": False, "for_existing_staff": False}, "for_new_hires"),
        ({"ends_on": START}, "ends_on"),
        ({"ends_on": START - timedelta(days=1)}, "ends_on"),
        ({"course_id": 999_999}, "course_id"),
        ({"municipality_id": 999_999}, "municipality_id"),
    ],
)
def test_check_rule_refuses_what_cannot_work(course, overrides, field):
    with pytest.raises(RuleError) as error:
        rules.check_rule(db.session, admin(), data(course, **overrides))
    assert error.value.field == field
    assert str(error.value)


def test_check_rule_refuses_an_inactive_course(course):
    course.status = CourseStatus.INACTIVE
    db.session.commit()
    with pytest.raises(RuleError, match="aktiv kurs"):
        rules.check_rule(db.session, admin(), data(course))


def test_check_rule_refuses_a_unit_of_another_municipality_or_sector(course, ifo):
    sigtuna_unit = factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO Sigtuna")
    with pytest.raises(RuleError) as error:
        rules.check_rule(db.session, admin(), data(course, unit_id=sigtuna_unit.id))
    assert error.value.field == "unit_id"
    with pytest.raises(RuleError) as error:
        rules.check_rule(db.session, admin(), data(course, unit_id=ifo.id, sector=Sector.SCHOOL))
    assert error.value.field == "sector"
    with pytest.raises(RuleError) as error:  # every municipality: no unit can match
        rules.check_rule(db.session, admin(), data(course, municipality_id=None, unit_id=ifo.id))
    assert error.value.field == "unit_id"


def test_hr_makes_rules_for_its_own_municipality_only(course):
    hr = hr_of("Järfälla")
    rules.check_rule(db.session, hr, data(course))  # fine
    for municipality_id in (None, factories.municipality("Sigtuna").id):
        with pytest.raises(RuleError) as error:
            rules.check_rule(db.session, hr, data(course, municipality_id=municipality_id))
        assert error.value.field == "municipality_id"
    rules.check_rule(db.session, admin(), data(course, municipality_id=None))  # admin may


def test_hr_cannot_change_or_end_a_rule_for_every_municipality(course):
    everyone_rule = factories.rule(course)
    sigtuna_rule = factories.rule(course, municipality_name="Sigtuna")
    hr = hr_of("Järfälla")
    with pytest.raises(RuleError):
        rules.update_rule(db.session, hr, everyone_rule, data(course))
    db.session.rollback()
    for rule in (everyone_rule, sigtuna_rule):
        with pytest.raises(RuleError):
            rules.end_rule(db.session, hr, rule)
        db.session.rollback()
    assert rules.rule_in_scope(db.session, hr, everyone_rule.id) is None
    assert rules.rule_in_scope(db.session, hr, sigtuna_rule.id) is None
    assert rules.rule_in_scope(db.session, admin(), everyone_rule.id) is not None


def test_a_rule_on_a_course_switched_off_later_can_still_be_changed(course):
    rule = factories.rule(course, municipality_name="Järfälla")
    course.status = CourseStatus.INACTIVE
    db.session.commit()
    changed = rules.rule_data(rule)
    changed.due_days = 45
    rules.update_rule(db.session, admin(), rule, changed)
    db.session.commit()
    assert rule.due_days == 45


def test_every_change_is_audited_with_before_and_after(course, ifo):
    boss = admin()
    person(ifo)
    rule, _changes = rules.create_rule(db.session, boss, data(course), today=TODAY)
    changed = rules.rule_data(rule)
    changed.due_days = 60
    rules.update_rule(db.session, boss, rule, changed, today=TODAY)
    rules.update_rule(db.session, boss, rule, changed, today=TODAY)  # no change: no event
    rules.end_rule(db.session, boss, rule, today=TODAY)
    db.session.commit()
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.object_type == "rule", AuditEvent.object_id == rule.id)
        .order_by(AuditEvent.id)
    ).all()
    assert [event.action for event in events] == ["rule.created", "rule.updated", "rule.ended"]
    assert all(event.actor_id == boss.id for event in events)
    assert events[1].details["before"]["due_days"] == 30
    assert events[1].details["after"]["due_days"] == 60
    assert events[2].details["after"]["ends_on"] == TODAY.isoformat()


def test_list_and_open_counts_are_scoped(course, ifo):
    sigtuna_unit = factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO Sigtuna")
    for unit in (ifo, ifo, sigtuna_unit):
        person(unit)
    boss = admin()
    everyone_rule, _c = rules.create_rule(
        db.session, boss, data(course, municipality_id=None), today=TODAY
    )
    own, _c = rules.create_rule(db.session, boss, data(course, due_days=10), today=TODAY)
    sigtuna, _c = rules.create_rule(
        db.session,
        boss,
        data(course, municipality_id=factories.municipality("Sigtuna").id, due_days=5),
        today=TODAY,
    )
    db.session.commit()
    hr = hr_of("Järfälla")
    assert {rule.id for rule in rules.list_rules(db.session, hr)} == {everyone_rule.id, own.id}
    ids = [everyone_rule.id, own.id, sigtuna.id]
    # The earliest due date wins: Järfälla's rule drives its two, Sigtuna's its one.
    assert rules.open_assignment_counts(db.session, hr, ids, today=TODAY) == {own.id: 2}
    assert rules.open_assignment_counts(db.session, boss, ids, today=TODAY) == {
        own.id: 2,
        sigtuna.id: 1,
    }


# -- the pages ------------------------------------------------------------------------------


def form(course: Course, /, municipality: str | None = "Järfälla", **overrides) -> dict[str, str]:
    values = {
        "course": str(course.id),
        "municipality": str(factories.municipality(municipality).id) if municipality else "",
        "sector": Sector.SOCIAL_SERVICES.value,
        "unit": "",
        "due_days": "30",
        "applies_from": (clock.today() - timedelta(days=30)).isoformat(),
        "for_new_hires": "y",
        "for_existing_staff": "y",
        "ends_on": "",
        "action": "save",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


@pytest.fixture()
def staffed(course, ifo) -> dict[str, Employee]:
    """Three in Järfälla social services, one of whom has completed the course."""
    people = {"anna": person(ifo), "bo": person(ifo), "cia": person(ifo)}
    factories.completion(people["cia"], course)
    return people


def test_the_list_shows_rules_in_force_and_ended_ones(client, course, staffed):
    boss = admin()
    rules.create_rule(db.session, boss, data(course, applies_from=clock.today()))
    ended, _c = rules.create_rule(
        db.session, boss, data(course, municipality_id=None, sector=Sector.SCHOOL)
    )
    rules.end_rule(db.session, boss, ended)
    db.session.commit()
    client.sign_in(hr_of("Järfälla"))
    page = text(client.get("/rules/"))
    in_force, ended_part = page.split("Avslutade regler", 1)
    assert "Webbkurs om våld" in in_force and "Järfälla" in in_force
    assert "Nyanställda och befintlig personal" in in_force
    assert re.search(r'<td [^>]*class="num">2</td>', in_force)  # open assignments: anna and bo
    assert "Alla kommuner" in ended_part and "Skola och förskola" in ended_part
    assert "Endast läsbar" in ended_part  # HR reads the all-municipality rule, cannot change it
    assert '<caption id="in-force-caption">' in page and 'scope="row"' in page


def test_the_new_rule_form_has_defaults_and_accessible_fields(client, course):
    client.sign_in(hr_of("Järfälla"))
    page = text(client.get("/rules/new"))
    assert 'value="90"' in page  # DEFAULT_DUE_DAYS
    assert f'value="{clock.today().isoformat()}"' in page
    assert "<legend>" in page and 'aria-describedby="for-whom-hint"' in page
    assert 'aria-describedby="due_days-hint"' in page
    assert "Alla kommuner" not in page  # HR's municipality is fixed
    assert 'name="action" value="preview"' in page and 'name="action" value="save"' in page
    course.due_days_override = 45
    db.session.commit()
    page = text(client.get(f"/rules/new?course={course.id}"))
    assert 'value="45"' in page
    assert re.search(rf'<option selected value="{course.id}">', page)


def test_the_admin_may_choose_every_municipality(client, course):
    client.sign_in(admin())
    assert "Alla kommuner" in text(client.get("/rules/new"))


def test_preview_tells_how_many_and_writes_nothing(client, course, staffed):
    client.sign_in(hr_of("Järfälla"))
    before = totals()
    response = client.post_form("/rules/new", form(course, action="preview"))
    assert response.status_code == 200
    page = text(response)
    assert "Regeln gäller 3 anställda. 2 av dem har inte gått kursen." in page
    assert 'role="status"' in page
    assert totals() == before


def test_saving_creates_the_rule_and_its_assignments(client, course, staffed):
    hr = hr_of("Järfälla")
    client.sign_in(hr)
    response = client.post_form("/rules/new", form(course), follow_redirects=True)
    assert response.status_code == 200
    assert "Regeln är sparad. Tilldelningar – nya: 3, ändrade: 0, avslutade: 0." in text(response)
    rule = db.session.scalars(sa.select(RequirementRule)).one()
    assert (rule.municipality_id, rule.sector, rule.due_days, rule.created_by_id) == (
        factories.municipality("Järfälla").id,
        Sector.SOCIAL_SERVICES,
        30,
        hr.id,
    )
    for employee in staffed.values():
        assignment = assignment_of(employee, course)
        assert assignment.rule_id == rule.id
        assert assignment.due_date == rule.applies_from + timedelta(days=30)
    assert db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "rule.created")
    ).one()


def test_an_empty_due_days_takes_the_course_default(client, course, staffed):
    course.due_days_override = 21
    db.session.commit()
    client.sign_in(hr_of("Järfälla"))
    client.post_form("/rules/new", form(course, due_days=""))
    assert db.session.scalars(sa.select(RequirementRule)).one().due_days == 21


def test_editing_changes_the_due_dates(client, course, staffed):
    rule, _c = rules.create_rule(db.session, None, data(course, applies_from=clock.today()))
    db.session.commit()
    client.sign_in(hr_of("Järfälla"))
    page = text(client.get(f"/rules/{rule.id}/edit"))
    assert 'value="30"' in page and "Avsluta regeln i dag" in page

    preview = client.post_form(
        f"/rules/{rule.id}/edit",
        form(course, due_days="60", applies_from=clock.today().isoformat(), action="preview"),
    )
    page = text(preview)
    assert "Regeln gäller 3 anställda. 2 av dem har inte gått kursen." in page
    assert "Dagar till sista dag: från 30 till 60" in page
    assert db.session.get(RequirementRule, rule.id).due_days == 30

    response = client.post_form(
        f"/rules/{rule.id}/edit",
        form(course, due_days="60", applies_from=clock.today().isoformat()),
        follow_redirects=True,
    )
    assert "nya: 0, ändrade: 3, avslutade: 0" in text(response)
    for employee in staffed.values():
        assert assignment_of(employee, course).due_date == clock.today() + timedelta(days=60)


def test_ending_closes_assignments_but_completions_still_count(client, course, staffed):
    rule, _c = rules.create_rule(db.session, None, data(course))
    db.session.commit()
    client.sign_in(hr_of("Järfälla"))
    response = client.post_form(f"/rules/{rule.id}/end", follow_redirects=True)
    assert "3 tilldelningar avslutades" in text(response)
    assert db.session.get(RequirementRule, rule.id).ends_on == clock.today()
    for employee in staffed.values():
        assert assignment_of(employee, course).removed_at is not None
    # Required again later: the course completed before still counts.
    rules.create_rule(db.session, None, data(course))
    db.session.commit()
    assert not is_open(assignment_of(staffed["cia"], course), clock.today())
    assert is_open(assignment_of(staffed["anna"], course), clock.today())
    ended = text(client.get("/rules/")).split("Avslutade regler", 1)[1]
    assert "Webbkurs om våld" in ended


def test_hr_of_jarfalla_cannot_reach_a_sigtuna_rule(client, course):
    sigtuna_rule = factories.rule(course, municipality_name="Sigtuna")
    client.sign_in(hr_of("Järfälla"))
    before = totals()
    assert client.get(f"/rules/{sigtuna_rule.id}/edit").status_code == 404
    assert client.post_form(f"/rules/{sigtuna_rule.id}/edit", form(course)).status_code == 404
    assert client.post_form(f"/rules/{sigtuna_rule.id}/end").status_code == 404
    assert totals() == before
    assert db.session.get(RequirementRule, sigtuna_rule.id).ends_on is None


def test_only_an_admin_changes_a_rule_for_every_municipality(client, course, staffed):
    everyone_rule = factories.rule(course)
    client.sign_in(hr_of("Järfälla"))
    assert client.get(f"/rules/{everyone_rule.id}/edit").status_code == 404
    before = totals()
    response = client.post_form("/rules/new", form(course, municipality=None))
    assert response.status_code == 422
    assert totals() == before

    client.post_form("/logout")
    client.sign_in(admin())
    response = client.post_form(
        f"/rules/{everyone_rule.id}/edit",
        form(course, municipality=None, due_days="15"),
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert db.session.get(RequirementRule, everyone_rule.id).due_days == 15


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"due_days": "-1"}, "Antal dagar måste vara mellan 0 och 3650."),
        ({"due_days": "abc"}, "Skriv antalet dagar som ett heltal"),
        ({"applies_from": "2026-13-01"}, "Skriv datumet som ÅÅÅÅ-MM-DD."),
        ({"applies_from": "2026-05-01", "ends_on": "2026-04-01"}, "Slutdatum måste vara efter"),
        (
            {"for_new_hires": None, "for_existing_staff": None},
            "Välj om regeln gäller nyanställda, befintlig personal eller båda.",
        ),
        ({"course": ""}, "Välj en kurs."),
    ],
)
@pytest.mark.parametrize("action", ["save", "preview"])
def test_bad_input_is_refused_with_422_and_nothing_written(
    client, course, staffed, overrides, message, action
):
    client.sign_in(hr_of("Järfälla"))
    before = totals()
    response = client.post_form("/rules/new", form(course, action=action, **overrides))
    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert "Något behöver rättas" in page
    assert 'role="status"' not in page  # no preview
    assert totals() == before


def test_a_unit_of_another_municipality_is_refused(client, course, staffed):
    sigtuna_unit = factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO Sigtuna")
    client.sign_in(hr_of("Järfälla"))
    before = totals()
    response = client.post_form("/rules/new", form(course, unit=str(sigtuna_unit.id)))
    assert response.status_code == 422  # not even among HR's choices
    assert totals() == before

    client.post_form("/logout")
    client.sign_in(admin())
    response = client.post_form("/rules/new", form(course, unit=str(sigtuna_unit.id)))
    assert response.status_code == 422
    assert "Enheten hör inte till den valda kommunen." in text(response)
    assert totals() == before


def test_a_unit_rule_from_the_form(client, course, ifo, staffed):
    other = person(factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "Familjeenheten"))
    client.sign_in(hr_of("Järfälla"))
    client.post_form("/rules/new", form(course, sector="", unit=str(ifo.id)))
    rule = db.session.scalars(sa.select(RequirementRule)).one()
    assert (rule.unit_id, rule.sector) == (ifo.id, None)
    assert assignment_of(staffed["anna"], course) is not None
    assert assignment_of(other, course) is None
