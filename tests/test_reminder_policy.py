"""HR (or an admin) sets their municipality's reminder schedule on the settings page; a
municipality without one has the defaults, and every change is audited with what changed."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import count
from training_tracker.extensions import db
from training_tracker.models import AuditEvent, Municipality, ReminderPolicy, Role, Sector
from training_tracker.services.people.municipalities import (
    ReminderPolicyData,
    ReminderPolicyError,
    reminder_policy,
    update_reminder_policy,
)
from training_tracker.services.training.reminders.policy import DEFAULT_POLICY

URL = "/employees/settings"
ACTION = "municipality.reminders_changed"

# What the page's reminder section sends with everything at the defaults.
DEFAULT_FORM = {
    "section": "reminders",
    "first_after_days": "14",
    "before_due_days": "7",
    "on_due_date": "y",
    "overdue_times": "3",
    "overdue_every_days": "14",
    "escalate_after_days": "7",
    "expiry_before_days": "30",
    "weekly_digest": "y",
}
NUMBERS = {
    "first_after_days": ("Första påminnelsen", 0, 180),
    "before_due_days": ("Påminnelsen före sista dag", 0, 60),
    "overdue_times": ("Antal påminnelser efter sista dag", 0, 10),
    "overdue_every_days": ("Dagar mellan påminnelserna efter sista dag", 1, 90),
    "escalate_after_days": ("Påminnelsen till chefen", 0, 90),
    "expiry_before_days": ("Påminnelsen innan en kurs går ut", 0, 180),
}


def events() -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == ACTION).order_by(AuditEvent.id)
        )
    )


def policy_row(name: str = "Järfälla") -> ReminderPolicy | None:
    db.session.expire_all()
    return db.session.get(ReminderPolicy, factories.municipality(name).id)


def data(**changes: int | bool) -> ReminderPolicyData:
    return ReminderPolicyData(**{**DEFAULT_POLICY, **changes})  # type: ignore[arg-type]


def value_of(page: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', page)
    if match is None:
        return None
    value = re.search(r'\bvalue="([^"]*)"', match.group(0))
    return value.group(1) if value else None


def is_checked(page: str, name: str) -> bool:
    match = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', page)
    assert match is not None, name
    return " checked" in match.group(0)


def coverage_checked(page: str) -> str | None:
    match = re.search(
        r'<input checked id="count_reported-\d" name="count_reported"[^>]*value="(\d)"', page
    )
    return match.group(1) if match else None


# --- the service ----------------------------------------------------------------------------


def test_a_municipality_without_a_row_has_the_defaults():
    assert reminder_policy(db.session, factories.municipality("Sigtuna")) == DEFAULT_POLICY


def test_saving_creates_the_row_and_records_only_what_changed():
    me = factories.admin()
    sigtuna = factories.municipality("Sigtuna")
    changes = update_reminder_policy(
        db.session, sigtuna, data(first_after_days=0, weekly_digest=False), actor=me
    )
    db.session.commit()
    assert changes == {"first_after_days": [14, 0], "weekly_digest": [True, False]}
    row = policy_row("Sigtuna")
    assert row is not None and row.updated_by_id == me.id
    assert reminder_policy(db.session, sigtuna) == {
        **DEFAULT_POLICY,
        "first_after_days": 0,
        "weekly_digest": False,
    }
    [event] = events()
    assert (event.actor_id, event.object_type, event.object_id) == (
        me.id,
        "municipality",
        sigtuna.id,
    )
    assert event.details == {
        "before": {"first_after_days": 14, "weekly_digest": True},
        "after": {"first_after_days": 0, "weekly_digest": False},
    }

    # A second change updates the same row and records only its own difference.
    update_reminder_policy(
        db.session,
        sigtuna,
        data(first_after_days=0, weekly_digest=False, overdue_times=5),
        actor=me,
    )
    db.session.commit()
    assert count(ReminderPolicy) == 1
    assert events()[-1].details == {"before": {"overdue_times": 3}, "after": {"overdue_times": 5}}

    # The same values again change and record nothing.
    assert (
        update_reminder_policy(
            db.session,
            sigtuna,
            data(first_after_days=0, weekly_digest=False, overdue_times=5),
            actor=me,
        )
        == {}
    )
    db.session.commit()
    assert len(events()) == 2


def test_the_defaults_saved_as_they_are_store_nothing():
    sigtuna = factories.municipality("Sigtuna")
    assert update_reminder_policy(db.session, sigtuna, data(), actor=factories.admin()) == {}
    db.session.commit()
    assert policy_row("Sigtuna") is None and events() == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_after_days", -1),
        ("first_after_days", 181),
        ("before_due_days", 61),
        ("overdue_times", 11),
        ("overdue_every_days", 0),  # while reminders after the due date are on
        ("overdue_every_days", 91),
        ("escalate_after_days", 91),
        ("expiry_before_days", 1000),
        ("expiry_before_days", "30"),  # not a whole number
        ("before_due_days", 2.5),
        ("escalate_after_days", None),
        ("first_after_days", True),
    ],
)
def test_the_service_refuses_what_is_out_of_bounds(field, value):
    sigtuna = factories.municipality("Sigtuna")
    with pytest.raises(ReminderPolicyError) as refused:
        update_reminder_policy(db.session, sigtuna, data(**{field: value}), actor=factories.admin())
    assert refused.value.field == field
    assert str(refused.value).startswith(f"{NUMBERS[field][0]}: Skriv ett heltal från ")
    db.session.commit()
    assert policy_row("Sigtuna") is None and events() == []


def test_the_service_wants_yes_or_no_for_the_switches():
    with pytest.raises(ReminderPolicyError) as refused:
        update_reminder_policy(
            db.session, factories.municipality(), data(weekly_digest=1), actor=None
        )
    assert refused.value.field == "weekly_digest"
    assert str(refused.value) == "Veckosammanställningen till cheferna: Välj ja eller nej."


def test_the_bounds_themselves_are_accepted_and_no_overdue_reminders_allow_zero_days():
    sigtuna = factories.municipality("Sigtuna")
    me = factories.admin()
    update_reminder_policy(
        db.session,
        sigtuna,
        data(**{name: high for name, (_label, _low, high) in NUMBERS.items()}),
        actor=me,
    )
    update_reminder_policy(
        db.session,
        sigtuna,
        data(**{name: 0 for name in NUMBERS}, on_due_date=False, weekly_digest=False),
        actor=me,
    )
    db.session.commit()
    assert reminder_policy(db.session, sigtuna) == {
        **{name: 0 for name in NUMBERS},
        "on_due_date": False,
        "weekly_digest": False,
    }


# --- the page -------------------------------------------------------------------------------


def test_the_page_shows_the_defaults_when_there_is_no_row(client):
    client.sign_in(factories.hr_staff())
    response = client.get(URL)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<h2 id="reminders-heading">Påminnelser</h2>' in page
    assert "lördag, söndag eller helgdag skickas nästa arbetsdag" in page
    assert "har rapporterat kursen, har slutat eller har undantag" in page
    for name, value in DEFAULT_FORM.items():
        if name in NUMBERS:
            assert value_of(page, name) == value, name
    assert is_checked(page, "on_due_date") and is_checked(page, "weekly_digest")
    # Labelled, hinted and numeric on a phone.
    assert '<label for="first_after_days">Första påminnelsen, dagar efter anställningen' in page
    assert re.search(
        r'<input aria-describedby="first_after_days-hint" autocomplete="off" '
        r'id="first_after_days" inputmode="numeric" max="180" min="0" '
        r'name="first_after_days" type="number" value="14">',
        page,
    )
    assert '<p class="hint" id="first_after_days-hint">' in page
    assert "<legend>Efter sista dag</legend>" in page
    assert page.count('id="csrf_token"') == 1  # the second form's token has its own id


def test_the_page_shows_the_municipalitys_own_schedule(client):
    jarfalla = factories.municipality("Järfälla")
    db.session.add(
        ReminderPolicy(
            municipality_id=jarfalla.id, first_after_days=21, on_due_date=False, overdue_times=0
        )
    )
    db.session.commit()
    client.sign_in(factories.hr_staff())
    page = client.get(URL).get_data(as_text=True)
    assert value_of(page, "first_after_days") == "21"
    assert value_of(page, "overdue_times") == "0"
    assert value_of(page, "before_due_days") == "7"
    assert not is_checked(page, "on_due_date") and is_checked(page, "weekly_digest")


def test_hr_saves_the_schedule_and_it_is_audited(client):
    me = factories.hr_staff()
    client.sign_in(me)
    form = {**DEFAULT_FORM, "before_due_days": "10", "expiry_before_days": "60"}
    del form["on_due_date"]  # an unticked box is not sent
    response = client.post_form(URL, form)
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Påminnelserna för Järfälla är sparade." in page
    assert value_of(page, "before_due_days") == "10"
    assert value_of(page, "expiry_before_days") == "60"
    assert not is_checked(page, "on_due_date")

    row = policy_row()
    assert row is not None and row.updated_by_id == me.id
    assert (row.before_due_days, row.expiry_before_days, row.on_due_date) == (10, 60, False)
    [event] = events()
    assert event.actor_id == me.id and event.object_id == factories.municipality().id
    assert event.details == {
        "before": {"before_due_days": 7, "on_due_date": True, "expiry_before_days": 30},
        "after": {"before_due_days": 10, "on_due_date": False, "expiry_before_days": 60},
    }
    assert policy_row("Sigtuna") is None  # another municipality keeps the defaults


def test_saving_the_same_schedule_says_nothing_changed(client):
    client.sign_in(factories.hr_staff())
    response = client.post_form(URL, DEFAULT_FORM, follow_redirects=True)
    assert "Inget ändrades." in response.get_data(as_text=True)
    assert policy_row() is None and events() == []


@pytest.mark.parametrize("bad", ["-1", "1000", "abc", "", "1,5"])
@pytest.mark.parametrize("field", list(NUMBERS))
def test_a_bad_number_is_refused_naming_the_setting(client, field, bad):
    jarfalla = factories.municipality("Järfälla")
    db.session.add(ReminderPolicy(municipality_id=jarfalla.id, first_after_days=21))
    db.session.commit()
    client.sign_in(factories.hr_staff())
    response = client.post_form(URL, {**DEFAULT_FORM, "first_after_days": "21", field: bad})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    _name, low, high = NUMBERS[field]
    message = f"Skriv ett heltal från {low} till {high}."
    label = re.search(rf'<label for="{field}">([^<]+)</label>', page).group(1)
    # The error summary names the setting by its label and leads to it; the message is
    # beside the field too.
    assert f'<a href="#{field}">{label}: {message}</a>' in page
    assert f'<span class="visually-hidden">Fel:</span> {message}</p>' in page
    assert re.search(
        rf'<input aria-describedby="{field}-hint {field}-error" aria-invalid="true"', page
    )
    assert value_of(page, field) == bad  # what was typed is kept to correct
    assert page.count('class="error-message"') == 1  # only that field
    # Nothing stored or changed.
    row = policy_row()
    assert row is not None and row.first_after_days == 21
    assert {name: getattr(row, name) for name in NUMBERS if name != "first_after_days"} == {
        name: DEFAULT_POLICY[name] for name in NUMBERS if name != "first_after_days"
    }
    assert events() == []
    # The coverage section still shows what is stored, without errors.
    assert coverage_checked(page) == "1"


def test_every_problem_is_shown_at_once(client):
    client.sign_in(factories.hr_staff())
    response = client.post_form(
        URL, {**DEFAULT_FORM, "first_after_days": "-1", "overdue_every_days": "0"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert (
        '<a href="#first_after_days">Första påminnelsen, dagar efter anställningen (0 = ingen): '
        "Skriv ett heltal från 0 till 180.</a>" in page
    )
    assert (
        '<a href="#overdue_every_days">Dagar mellan påminnelserna efter sista dag: Skriv ett '
        "heltal från 1 till 90, eller sätt antalet påminnelser efter sista dag till 0.</a>" in page
    )
    assert policy_row() is None and events() == []


def test_no_overdue_reminders_allows_zero_days_between(client):
    client.sign_in(factories.hr_staff())
    form = {**DEFAULT_FORM, "overdue_times": "0", "overdue_every_days": "0"}
    assert client.post_form(URL, form).status_code == 302
    row = policy_row()
    assert row is not None and (row.overdue_times, row.overdue_every_days) == (0, 0)


def test_a_refusal_by_the_service_is_shown_on_its_field(client, monkeypatch):
    # The form checks what the service checks; should they ever differ, the service's word
    # still reaches the page, on the field it names, and nothing is stored.
    monkeypatch.setattr(
        "training_tracker.employees.forms.reminder_value_problem", lambda *a, **k: None
    )
    client.sign_in(factories.hr_staff())
    response = client.post_form(URL, {**DEFAULT_FORM, "before_due_days": "61"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<a href="#before_due_days">' in page
    assert "Påminnelsen före sista dag: Skriv ett heltal från 0 till 60." in page
    assert policy_row() is None and events() == []


# --- the two sections do not touch each other -----------------------------------------------


def test_saving_the_coverage_leaves_the_schedule_alone(client):
    jarfalla = factories.municipality("Järfälla")
    db.session.add(
        ReminderPolicy(municipality_id=jarfalla.id, weekly_digest=False, on_due_date=True)
    )
    db.session.commit()
    client.sign_in(factories.hr_staff())
    response = client.post_form(URL, {"count_reported": "0"}, follow_redirects=True)
    assert response.status_code == 200
    row = policy_row()
    assert row is not None and (row.weekly_digest, row.on_due_date) == (False, True)
    assert reminder_policy(db.session, jarfalla) == {**DEFAULT_POLICY, "weekly_digest": False}
    assert events() == []
    assert db.session.get(Municipality, jarfalla.id).count_reported_in_coverage is False


def test_saving_the_coverage_for_a_municipality_without_a_row_creates_none(client):
    client.sign_in(factories.hr_staff())
    assert client.post_form(URL, {"count_reported": "0"}).status_code == 302
    assert policy_row() is None and count(ReminderPolicy) == 0


def test_a_refused_coverage_answer_shows_the_schedule_as_stored(client):
    jarfalla = factories.municipality("Järfälla")
    db.session.add(ReminderPolicy(municipality_id=jarfalla.id, first_after_days=30))
    db.session.commit()
    client.sign_in(factories.hr_staff())
    response = client.post_form(URL, {"count_reported": "2"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert value_of(page, "first_after_days") == "30"
    assert is_checked(page, "weekly_digest")


def test_saving_the_schedule_leaves_the_coverage_alone(client):
    jarfalla = factories.municipality("Järfälla")
    jarfalla.count_reported_in_coverage = False
    db.session.commit()
    client.sign_in(factories.hr_staff())
    response = client.post_form(URL, {**DEFAULT_FORM, "first_after_days": "0"})
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert coverage_checked(page) == "0"
    db.session.expire_all()
    assert db.session.get(Municipality, jarfalla.id).count_reported_in_coverage is False
    assert count(AuditEvent, AuditEvent.action == "municipality.settings_changed") == 0


# --- who may -------------------------------------------------------------------------------


def test_hr_cannot_see_or_change_another_municipalitys_schedule(client):
    sigtuna = factories.municipality("Sigtuna")
    client.sign_in(factories.hr_staff())
    assert client.get(f"{URL}?municipality={sigtuna.id}").status_code == 404
    form = {**DEFAULT_FORM, "first_after_days": "0"}
    assert client.post_form(f"{URL}?municipality={sigtuna.id}", form).status_code == 404
    assert policy_row("Sigtuna") is None and events() == []


def test_an_admin_sets_any_municipalitys_schedule(client):
    sigtuna = factories.municipality("Sigtuna")
    me = factories.admin()
    client.sign_in(me)
    form = {**DEFAULT_FORM, "escalate_after_days": "0"}
    response = client.post_form(f"{URL}?municipality={sigtuna.id}", form)
    assert response.status_code == 302
    assert response.location == f"{URL}?municipality={sigtuna.id}"
    row = policy_row("Sigtuna")
    assert row is not None and row.escalate_after_days == 0 and row.updated_by_id == me.id
    assert policy_row("Järfälla") is None


def test_a_coordinator_cannot_set_the_schedule(client):
    unit = factories.unit("Järfälla", Sector.SCHOOL, "Viksjöskolan")
    coordinator = factories.with_role(
        factories.employee(unit=unit), Role.COORDINATOR, municipality_name="Järfälla"
    )
    client.sign_in(coordinator)
    assert client.post_form(URL, {**DEFAULT_FORM, "first_after_days": "0"}).status_code == 403
    assert policy_row() is None and events() == []
