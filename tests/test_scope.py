"""One function decides whom a user may see: each role, each scope."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests import factories
from training_tracker.extensions import db
from training_tracker.models import Employee, Role, Sector
from training_tracker.services.core.scope import (
    Access,
    approvers_clause,
    employee_in_scope,
    managers_clause,
    report_scope,
    team_scope,
    visible_employees,
)


@pytest.fixture()
def world():
    """Two units in Järfälla, one in Sigtuna, two people in each."""
    jarfalla_social = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    jarfalla_school = factories.unit("Järfälla", Sector.SCHOOL, "Viksjöskolan")
    sigtuna_social = factories.unit("Sigtuna", Sector.SOCIAL_SERVICES, "IFO Märsta")
    people = {
        name: factories.employee(unit=unit, first_name=name)
        for name, unit in [
            ("Ali", jarfalla_social),
            ("Bea", jarfalla_social),
            ("Cem", jarfalla_school),
            ("Dan", jarfalla_school),
            ("Eva", sigtuna_social),
            ("Fia", sigtuna_social),
        ]
    }
    return {"units": (jarfalla_social, jarfalla_school, sigtuna_social), "people": people}


def visible_names(user, access=Access.VIEW) -> set[str]:
    return {e.first_name for e in db.session.scalars(visible_employees(user, access))}


def test_an_employee_sees_only_themselves(world):
    ali = world["people"]["Ali"]
    assert visible_names(ali) == {"Ali"}
    assert visible_names(ali, Access.VERIFY) == set()
    assert visible_names(ali, Access.MANAGE) == set()


def test_a_manager_sees_and_verifies_their_unit_but_manages_nobody(world):
    social, _school, _sigtuna = world["units"]
    boss = factories.with_role(
        factories.employee(unit=social, first_name="Boss"), Role.MANAGER, on_unit=social
    )
    assert visible_names(boss) == {"Ali", "Bea", "Boss"}
    assert visible_names(boss, Access.VERIFY) == {"Ali", "Bea", "Boss"}
    assert visible_names(boss, Access.MANAGE) == set()


def test_a_manager_also_sees_direct_reports_in_other_units(world):
    social, school, _ = world["units"]
    boss = factories.with_role(
        factories.employee(unit=social, first_name="Boss"), Role.MANAGER, on_unit=social
    )
    factories.employee(unit=school, first_name="Gus", manager=boss)
    assert "Gus" in visible_names(boss)


def test_hr_reaches_everyone_of_their_municipality_and_no_one_else(world):
    hr = factories.with_role(
        factories.employee(unit=world["units"][1], first_name="Hedda"),
        Role.HR,
        municipality_name="Järfälla",
    )
    expected = {"Ali", "Bea", "Cem", "Dan", "Hedda"}
    for access in Access:
        assert visible_names(hr, access) == expected
    eva = world["people"]["Eva"]
    assert employee_in_scope(db.session, hr, eva.id) is None


def test_coordinators_read_aggregates_not_people(world):
    coordinator = factories.with_role(
        factories.employee(unit=world["units"][0], first_name="Sam"),
        Role.COORDINATOR,
        municipality_name="Järfälla",
    )
    assert visible_names(coordinator) == {"Sam"}
    scope = report_scope(coordinator)
    assert not scope.all_municipalities
    assert scope.municipality_ids == {factories.municipality("Järfälla").id}


def test_a_regional_coordinator_reads_all_municipalities(world):
    regional = factories.with_role(
        factories.employee(unit=world["units"][0], first_name="Rut"), Role.COORDINATOR
    )
    assert report_scope(regional).all_municipalities
    assert visible_names(regional) == {"Rut"}


def test_an_admin_reaches_everyone(world):
    admin = factories.with_role(
        factories.employee(system_account=True, first_name="Ada"), Role.ADMIN
    )
    assert visible_names(admin, Access.MANAGE) == {"Ali", "Bea", "Cem", "Dan", "Eva", "Fia", "Ada"}
    assert report_scope(admin).all_municipalities


def test_roles_add_up(world):
    social, _, sigtuna = world["units"]
    person = factories.employee(unit=social, first_name="Multi")
    factories.with_role(person, Role.MANAGER, on_unit=sigtuna)
    factories.with_role(person, Role.HR, municipality_name="Järfälla")
    assert visible_names(person) == {"Ali", "Bea", "Cem", "Dan", "Eva", "Fia", "Multi"}
    assert visible_names(person, Access.MANAGE) == {"Ali", "Bea", "Cem", "Dan", "Multi"}


def test_an_employee_without_roles_reads_no_reports(world):
    assert report_scope(world["people"]["Ali"]).is_empty


def test_a_persons_managers_are_exactly_those_whose_team_holds_them(world):
    """``managers_clause`` (who decides on a person's programme sign-ups) is ``team_scope``
    read the other way: a unit's manager, a direct manager holding the role, not a direct
    manager without it, never the person themselves, and nobody inactive."""
    people = world["people"]
    ifo, school, _ = world["units"]
    factories.with_role(people["Ali"], Role.MANAGER, on_unit=ifo)  # manages their own unit
    factories.with_role(people["Cem"], Role.MANAGER, on_unit=school)
    people["Dan"].manager_id = people["Cem"].id  # in Cem's unit and Cem's report
    people["Eva"].manager_id = people["Cem"].id  # Cem's report in another municipality
    people["Fia"].manager_id = people["Bea"].id  # Bea holds no manager role
    retired = factories.employee(unit=school, first_name="Gun")
    factories.with_role(retired, Role.MANAGER, on_unit=school)
    retired.active = False
    db.session.commit()

    everyone = [*people.values(), retired]
    for person in everyone:
        managers = {
            m.first_name
            for m in db.session.scalars(sa.select(Employee).where(managers_clause(person)))
        }
        holding = {
            m.first_name
            for m in everyone
            if m.active
            and m.id != person.id
            and db.session.scalar(
                sa.select(sa.func.count()).where(team_scope(m), Employee.id == person.id)
            )
        }
        assert managers == holding, person.first_name
    assert {
        m.first_name
        for m in db.session.scalars(sa.select(Employee).where(managers_clause(people["Dan"])))
    } == {"Cem"}
    assert not db.session.scalar(sa.select(sa.func.count()).where(managers_clause(people["Fia"])))


def test_a_persons_approvers_are_their_managers_else_hr_of_their_own_municipality(world):
    """``approvers_clause`` (who decides on a person's programme sign-ups): their managers
    when they have any; otherwise the active HR of their own municipality, never the person
    themselves; otherwise nobody."""
    people = world["people"]
    ifo, school, _ = world["units"]
    factories.with_role(factories.employee(unit=ifo, first_name="Boss"), Role.MANAGER, on_unit=ifo)
    hedda = factories.with_role(
        factories.employee(unit=school, first_name="Hedda"), Role.HR, municipality_name="Järfälla"
    )
    retired = factories.with_role(
        factories.employee(unit=school, first_name="Ivar"), Role.HR, municipality_name="Järfälla"
    )
    retired.active = False
    factories.with_role(people["Fia"], Role.HR, municipality_name="Sigtuna")
    db.session.commit()

    def approvers(person: Employee) -> set[str]:
        return {
            m.first_name
            for m in db.session.scalars(sa.select(Employee).where(approvers_clause(person)))
        }

    assert approvers(people["Ali"]) == {"Boss"}  # HR stays out while a manager decides
    assert approvers(people["Cem"]) == {"Hedda"}  # no manager: HR of Järfälla, active only
    assert approvers(hedda) == set()  # the only active HR of Järfälla is Hedda herself
    assert approvers(people["Eva"]) == {"Fia"}  # Sigtuna's HR, not Järfälla's
    assert approvers(people["Fia"]) == set()
