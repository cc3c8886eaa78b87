"""Provisioning over SCIM 2.0: a municipality's directory enrolls, changes and ends employees.

Its token reaches its own municipality's staff and nobody holding a role of HR or wider; a
person it creates gets the same treatment as one HR enrolls (assignments from the rules, the
welcome mail, the audit trail, here with the actor "SCIM (label)"); a leaver leaves by
``active`` false or DELETE, and nothing is ever lost. Entra ID's own request shapes are in
tests/test_scim_entra.py, the RFC compliance checker in tests/test_scim_compliance.py.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import MailCatcher, counting_statements, mail_text
from tests.scim_helpers import ENTERPRISE, Directory, directory, user_payload
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import (
    Assignment,
    AuditEvent,
    Employee,
    OutboxMessage,
    Role,
    ScimLink,
    ScimToken,
    Sector,
)
from training_tracker.services.compliance.audit import describe_events
from training_tracker.services.core.dates import shown_date
from training_tracker.services.messaging import outbox
from training_tracker.services.people.scim import users
from training_tracker.services.training.assignments import recompute_assignments

NCK = "nck-webbkurs-om-vald"
ANNA = "anna.andersson@jarfalla.example"


@pytest.fixture()
def entra(client) -> Directory:
    return directory(client)


@pytest.fixture()
def ifo():
    return factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Barn och unga")


def person(email: str = ANNA) -> Employee:
    return db.session.scalars(sa.select(Employee).where(Employee.email == email)).one()


def find(entra: Directory, expression: str) -> list[dict]:
    response = entra.get(f"/Users?filter={quote(expression)}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["Resources"]


def error_of(response) -> tuple[int, str | None]:
    body = response.get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(response.status_code)
    assert response.mimetype == "application/scim+json"
    return response.status_code, body.get("scimType")


# --- tokens ---------------------------------------------------------------------------------


def test_without_a_valid_token_nothing_is_answered(client, entra):
    factories.employee(email=ANNA)
    for headers in ({}, {"Authorization": "Bearer ttscim_wrong"}, {"Authorization": "Basic x"}):
        response = client.get("/scim/v2/Users", headers=headers)
        assert error_of(response) == (401, None)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert ANNA not in response.get_data(as_text=True)


def test_a_token_is_stored_as_a_digest_and_a_revoked_token_stops_working(entra, runner):
    token = db.session.get(ScimToken, entra.token_id)
    assert token.secret_hash == hashlib.sha256(entra.secret.encode()).hexdigest()
    assert entra.secret not in str(db.session.execute(sa.select(ScimToken.__table__)).all())
    assert entra.get("/Users").status_code == 200

    result = runner.invoke(args=["scim", "token", "revoke", str(entra.token_id)])

    assert result.exit_code == 0, result.output
    assert error_of(entra.get("/Users")) == (401, None)


def test_a_token_notes_when_it_was_last_used_every_few_minutes(entra):
    def last_used():
        db.session.expire_all()
        return db.session.get(ScimToken, entra.token_id).last_used_at

    assert last_used() is None
    assert entra.get("/Users").status_code == 200
    first = last_used()
    assert first is not None
    assert entra.post("/Users", user_payload()).status_code == 201
    assert last_used() == first  # not at every request of a sync
    token = db.session.get(ScimToken, entra.token_id)
    token.last_used_at = first - timedelta(minutes=6)
    db.session.commit()
    assert entra.get("/Users").status_code == 200
    assert last_used() > first


def test_the_operator_creates_lists_and_revokes_tokens_from_the_command_line(client, runner):
    created = runner.invoke(
        args=["scim", "token", "create", "--municipality", "sigtuna", "--label", "Entra ID"]
    )

    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("ttscim_")
    [token] = db.session.scalars(sa.select(ScimToken)).all()
    assert (token.label, token.municipality.name) == ("Entra ID", "Sigtuna")
    answer = client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200

    listed = runner.invoke(args=["scim", "token", "list"])
    assert f"{token.id}\tSigtuna\tEntra ID\t{secret[:11]}…" in listed.output
    assert secret not in listed.output
    assert "active" in listed.output

    assert runner.invoke(args=["scim", "token", "revoke", str(token.id)]).exit_code == 0
    assert "revoked" in runner.invoke(args=["scim", "token", "list"]).output
    unknown = runner.invoke(args=["scim", "token", "create", "--municipality", "Atlantis"])
    assert unknown.exit_code != 0
    assert "unknown municipality" in unknown.output


def test_a_directory_is_rate_limited_per_token(app, entra, monkeypatch):
    monkeypatch.setitem(app.config, "SCIM_RATE_LIMIT", "2 per minute")
    assert entra.get("/Users").status_code == 200
    assert entra.get("/Users").status_code == 200

    assert error_of(entra.get("/Users")) == (429, None)


# --- create, read, list ---------------------------------------------------------------------


def test_a_new_hire_from_the_directory_is_enrolled_as_hr_would(client, entra, ifo):
    courses = factories.synced_catalog()
    factories.rule(courses[NCK], sector=Sector.SOCIAL_SERVICES, due_days=30)
    manager = factories.employee(unit=ifo, email="chef@jarfalla.example")
    hire_date = clock.today() - timedelta(days=3)

    response = entra.post(
        "/Users",
        user_payload(
            department="ifo barn och UNGA",
            employee_number="J-77",
            manager=str(manager.id),
            hire_date=f"{hire_date.isoformat()}T00:00:00Z",
            language="en-GB",
        ),
    )

    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    anna = person()
    assert body["id"] == str(anna.id)
    assert response.headers["Location"] == body["meta"]["location"]
    assert body["meta"]["location"].endswith(f"/scim/v2/Users/{anna.id}")
    assert (anna.first_name, anna.last_name, anna.municipality.name) == (
        "Anna",
        "Andersson",
        "Järfälla",
    )
    assert (anna.unit_id, anna.employee_number, anna.manager_id) == (ifo.id, "J-77", manager.id)
    assert (anna.hire_date, anna.preferred_language, anna.active) == (hire_date, "en", True)
    [assignment] = db.session.scalars(
        sa.select(Assignment).where(Assignment.employee_id == anna.id)
    ).all()
    assert assignment.due_date == hire_date + timedelta(days=30)
    [mail] = db.session.scalars(sa.select(OutboxMessage)).all()
    assert (mail.kind, mail.recipient_email) == ("invitation", ANNA)
    created = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "employee.created")
    ).one()
    assert created.actor_id is None
    [entry] = describe_events(db.session, [created])
    assert entry.actor_name == "SCIM (Entra ID)"
    # What it wrote reads back.
    answer = entra.get(f"/Users/{anna.id}")
    assert answer.headers["Cache-Control"] == "no-store"
    read = answer.get_json()
    assert read["userName"] == ANNA
    assert read["externalId"] == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    assert read["active"] is True
    assert read[ENTERPRISE]["department"] == "IFO Barn och unga"
    assert read[ENTERPRISE]["manager"] == {"value": str(manager.id)}
    assert read[ENTERPRISE]["employeeHireDate"].startswith(hire_date.isoformat())


def test_the_welcome_mail_is_written_when_it_is_sent_with_the_courses_and_a_password_link(
    client, entra, ifo, smtp_server: MailCatcher
):
    courses = factories.synced_catalog()
    factories.rule(courses[NCK], sector=Sector.SOCIAL_SERVICES, due_days=30)
    hire_date = clock.today() - timedelta(days=3)
    entra.post(
        "/Users",
        user_payload(department="IFO Barn och unga", hire_date=f"{hire_date.isoformat()}"),
    )
    # Queued unwritten, as an import's: a sync enrolls thousands in a row.
    [queued] = db.session.scalars(sa.select(OutboxMessage)).all()
    assert (queued.kind, queued.subject) == ("invitation", "")

    assert outbox.deliver_outbox(db.session).sent == 1

    [mail] = smtp_server.to(ANNA)
    text = mail_text(mail)
    assert "Hej Anna," in text
    assert f"Webbkurs om våld, senast {shown_date(hire_date + timedelta(days=30))}" in text
    assert re.search(r"https?://\S+/invitation/\S+", text)
    assert person().invited_at is not None
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "auth.invitation_queued")
    ).all()
    assert describe_events(db.session, [event])[0].actor_name == "SCIM (Entra ID)"


def test_where_the_municipality_requires_sso_a_new_hire_gets_no_password_mail(entra, ifo):
    jarfalla = factories.municipality("Järfälla")
    jarfalla.sso_required = True
    db.session.commit()

    response = entra.post("/Users", user_payload(department="IFO Barn och unga"))

    assert response.status_code == 201, response.get_data(as_text=True)
    assert person().unit_id == ifo.id
    assert db.session.scalars(sa.select(OutboxMessage)).all() == []


def test_an_unknown_department_puts_the_person_on_hrs_list_without_a_unit(client, entra):
    courses = factories.synced_catalog()
    factories.rule(courses[NCK])  # everyone's, everywhere: still reached through a unit
    with counting_statements() as statements:
        response = entra.post("/Users", user_payload(department="Okänd avdelning"))

    assert response.status_code == 201
    assert person().unit_id is None
    # No assignment (rules reach people through their unit), so no INSERT … SELECT asked;
    # a recomputation finds nothing to add either.
    assert not any(s.startswith("INSERT INTO assignments") for s in statements)
    assert recompute_assignments(db.session, Employee.id == person().id).created == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)) == 0
    hr = factories.hr_staff()
    client.sign_in(hr)
    page = client.get("/employees/?unit=none").get_data(as_text=True)
    assert "Andersson" in page
    home = client.get("/").get_data(as_text=True)
    assert "1 person saknar enhet" in home


def test_users_are_listed_a_page_at_a_time(entra, ifo):
    ids = [
        entra.post(
            "/Users", user_payload(f"p{n}@jarfalla.example", external_id=f"x{n}")
        ).get_json()["id"]
        for n in range(3)
    ]

    page = entra.get("/Users?startIndex=2&count=1").get_json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (3, 2, 1)
    assert [u["id"] for u in page["Resources"]] == [ids[1]]
    assert entra.get("/Users?count=0").get_json()["Resources"] == []
    assert entra.get("/Users?startIndex=9").get_json()["Resources"] == []
    assert error_of(entra.get("/Users?count=many")) == (400, "invalidValue")
    assert [u["id"] for u in entra.get("/Users").get_json()["Resources"]] == ids
    only = entra.get("/Users?attributes=userName").get_json()["Resources"][0]
    assert set(only) <= {"schemas", "id", "userName"}


def test_filters_find_a_user_by_user_name_external_id_or_work_email(entra):
    created = entra.post("/Users", user_payload()).get_json()
    other = user_payload("other@jarfalla.example", family="Berg", external_id="other")
    entra.post("/Users", other)

    for expression in (
        f'userName eq "{ANNA.upper()}"',
        'externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"',
        f'emails[type eq "work"].value eq "{ANNA}"',
        f'emails.value eq "{ANNA}"',
        'name.familyName sw "ander" and active eq true',
        'not (userName eq "other@jarfalla.example") and userName co "andersson"',
    ):
        assert [u["id"] for u in find(entra, expression)] == [created["id"]], expression
    assert find(entra, 'userName eq "nobody@jarfalla.example"') == []
    assert find(entra, 'externalId eq "0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF"') == []


def test_the_does_this_user_exist_filter_answers_as_any_other_filter_in_few_statements(
    entra, ifo, monkeypatch
):
    """Sent before each create, it is answered by a statement built once: the same answer,
    with its paging, as the general filter gives."""
    linked = entra.post("/Users", user_payload()).get_json()["id"]
    enrolled = factories.employee(unit=ifo, email="enrolled@jarfalla.example")  # not claimed
    gone = entra.post("/Users", user_payload("gone@jarfalla.example", external_id="g"))
    assert entra.delete(f"/Users/{gone.get_json()['id']}").status_code == 204

    def answer(expression: str, paging: str = "") -> tuple[int, list[str]]:
        body = entra.get(f"/Users?{paging}filter={quote(expression)}").get_json()
        return body["totalResults"], [user["id"] for user in body["Resources"]]

    for spelled in (f'userName eq "{ANNA.upper()}"', f' username EQ "{ANNA}" '):
        with monkeypatch.context() as patched:
            patched.setattr(users, "filter_clause", None)  # not parsed, not translated
            with counting_statements() as statements:
                assert answer(spelled) == (1, [linked])
        # The token, the user with their unit, their link: no count, no second query.
        assert len(statements) <= 4, statements
        assert answer(f"{spelled} and active eq true") == (1, [linked])  # the general way
    assert answer('userName eq "Enrolled@Jarfalla.example"') == (1, [str(enrolled.id)])
    assert answer('userName eq "gone@jarfalla.example"') == (0, [])
    # A page that may not hold the whole answer takes the general way, with its count.
    assert answer(f'userName eq "{ANNA}"', "count=1&") == (1, [linked])
    assert answer(f'userName eq "{ANNA}"', "startIndex=2&") == (1, [])


def test_an_initial_sync_create_takes_few_statements(entra, ifo):
    """Entra ID's filter and POST for each of thousands of users: the statements it runs are
    the round trips PostgreSQL waits on. Pinned so that the count cannot grow back unnoticed:
    the filter 2 (token, user); the create 8 (token, unit, one query for everyone the user may
    be or collide with, the employee with the invitation's date, the assignments, the mail,
    the two audit events in one INSERT, the link). SQLite writes the two audit events one by
    one (SQLAlchemy batches an INSERT … RETURNING only where the order of the rows is
    certain)."""
    courses = factories.synced_catalog()
    factories.rule(courses[NCK], sector=Sector.SOCIAL_SERVICES)

    def sync(user_name: str, number: str) -> None:
        found = entra.get(f"/Users?filter={quote(f'userName eq {chr(34)}{user_name}{chr(34)}')}")
        assert found.get_json()["totalResults"] == 0
        payload = user_payload(
            user_name,
            external_id=number,
            department="IFO Barn och unga",
            employee_number=number,
            hire_date="2026-01-05T00:00:00Z",
        )
        assert entra.post("/Users", payload).status_code == 201

    sync("first@jarfalla.example", "J-1")  # the token's "last used" is written once
    in_transaction: list[bool] = []

    def note(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        # psycopg's own flag; Python 3.11's sqlite3 has none (a transaction, as before).
        in_transaction.append(not getattr(conn.connection.dbapi_connection, "autocommit", False))

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        with counting_statements() as statements:
            sync(ANNA, "J-2")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)

    # On PostgreSQL the filter only reads, without BEGIN and ROLLBACK (two round trips, and
    # the ROLLBACK made psycopg forget its prepared statements); the create is one transaction.
    reads = db.engine.dialect.name != "postgresql"
    assert in_transaction == [reads] * 2 + [True] * (len(statements) - 2), statements

    limit = 10 if db.engine.dialect.name == "postgresql" else 11
    assert len(statements) <= limit, "\n".join(statements)
    anna = person()
    assert anna.invited_at is not None  # in the INSERT, with no UPDATE after it
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Assignment)
            .where(Assignment.employee_id == anna.id)
        )
        == 1
    )
    events = db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.subject_employee_id == anna.id)
        .order_by(AuditEvent.id)
    ).all()
    assert events == ["employee.created", "auth.invitation_queued"]


def test_a_user_name_another_user_holds_is_a_conflict_whatever_the_address(entra):
    assert entra.post("/Users", user_payload(external_id=None)).status_code == 201
    elsewhere = user_payload(external_id=None, email="anna.a@jarfalla.example")
    assert error_of(entra.post("/Users", elsewhere)) == (409, "uniqueness")
    assert (
        entra.post("/Users", user_payload("anna.a@jarfalla.example", external_id=None)).status_code
        == 201
    )


def test_a_filter_the_tracker_cannot_answer_is_refused_with_invalid_filter(entra):
    for expression in ('title eq "x"', 'userName eq "unterminated', "userName zz 1"):
        response = entra.get(f"/Users?filter={quote(expression)}")
        assert error_of(response) == (400, "invalidFilter"), expression


# --- change ---------------------------------------------------------------------------------


def test_a_replace_changes_the_person_and_the_external_id_follows_an_email_change(entra, ifo):
    user_id = entra.post("/Users", user_payload()).get_json()["id"]
    new_address = "anna.berg@jarfalla.example"

    response = entra.put(
        f"/Users/{user_id}", user_payload(new_address, family="Berg", department=ifo.name)
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    anna = person(new_address)
    assert (str(anna.id), anna.last_name, anna.unit_id) == (user_id, "Berg", ifo.id)
    [found] = find(entra, 'externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')
    assert found["userName"] == new_address
    changed = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "employee.updated")
    ).one()
    assert changed.details["via"] == "SCIM (Entra ID)"
    assert changed.details["changes"]["email"] == [ANNA, new_address]


def test_active_false_is_the_leaver_flow_and_true_brings_the_person_back(entra):
    user_id = entra.post("/Users", user_payload()).get_json()["id"]
    sessions = person().session_version

    left = entra.patch(f"/Users/{user_id}", {"op": "replace", "path": "active", "value": False})

    assert left.get_json()["active"] is False
    anna = person()
    assert (anna.active, anna.end_date) == (False, clock.today())
    assert anna.session_version == sessions + 1
    back = entra.patch(f"/Users/{user_id}", {"op": "replace", "path": "active", "value": True})
    assert back.get_json()["active"] is True
    assert (person().active, person().end_date) == (True, None)


def test_delete_ends_the_employment_without_losing_anything(entra):
    user_id = entra.post("/Users", user_payload()).get_json()["id"]

    response = entra.delete(f"/Users/{user_id}")

    assert response.status_code == 204
    anna = person()
    assert (anna.active, anna.end_date) == (False, clock.today())
    assert error_of(entra.get(f"/Users/{user_id}")) == (404, None)
    assert error_of(entra.delete(f"/Users/{user_id}")) == (404, None)
    assert find(entra, f'userName eq "{ANNA}"') == []
    # Created again (a returner): the same person, employed again.
    again = entra.post("/Users", user_payload())
    assert again.status_code == 201
    assert again.get_json()["id"] == user_id
    assert (person().active, person().end_date) == (True, None)


# --- one person, whichever way they came in -------------------------------------------------


def test_someone_hr_enrolled_is_found_by_email_and_claimed_not_duplicated(entra, ifo):
    enrolled = factories.employee(unit=ifo, email=ANNA)
    enrolled_id = enrolled.id

    assert [u["id"] for u in find(entra, f'userName eq "{ANNA}"')] == [str(enrolled_id)]
    response = entra.post("/Users", user_payload(department=ifo.name))

    assert response.status_code == 201
    assert response.get_json()["id"] == str(enrolled_id)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Employee)) == 1
    link = db.session.get(ScimLink, enrolled_id)
    assert link.external_id == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    # No second welcome mail for someone HR enrolled.
    assert db.session.scalars(sa.select(OutboxMessage)).all() == []


def test_the_same_employee_number_is_the_same_person(entra, ifo):
    enrolled = factories.employee(unit=ifo, email="old.address@jarfalla.example")
    enrolled.employee_number = "J-5"
    db.session.commit()

    response = entra.post("/Users", user_payload(employee_number="J-5"))

    assert response.get_json()["id"] == str(enrolled.id)
    assert person().id == enrolled.id


def test_a_user_created_twice_is_a_conflict(entra):
    assert entra.post("/Users", user_payload()).status_code == 201
    assert error_of(entra.post("/Users", user_payload())) == (409, "uniqueness")
    other_mail = user_payload(ANNA.replace("anna", "anna2"), email=ANNA.replace("anna", "anna2"))
    assert error_of(entra.post("/Users", other_mail)) == (409, "uniqueness")  # same externalId


def test_bad_requests_are_refused_with_scims_error_and_nothing_is_stored(entra):
    assert error_of(entra.request("POST", "/Users", data="{not json")) == (400, "invalidSyntax")
    no_user_name = {k: v for k, v in user_payload().items() if k != "userName"}
    assert error_of(entra.post("/Users", no_user_name))[0] == 400
    no_email = {**user_payload("anna"), "emails": []}
    assert error_of(entra.post("/Users", no_email))[0] == 400
    assert error_of(entra.get("/Users/999999")) == (404, None)
    assert error_of(entra.get("/Users/abc")) == (404, None)
    assert error_of(entra.get("/Groups")) == (404, None)
    assert error_of(entra.request("DELETE", "/Schemas")) == (405, None)
    assert db.session.scalars(sa.select(Employee)).all() == []


# --- scope: one municipality, never HR or wider ---------------------------------------------


def test_a_token_never_reaches_another_municipality(client, entra):
    sigtuna = directory(client, "Sigtuna", "Sigtunas Entra")
    user_id = entra.post("/Users", user_payload()).get_json()["id"]

    assert error_of(sigtuna.get(f"/Users/{user_id}")) == (404, None)
    leave = {"op": "replace", "path": "active", "value": False}
    assert error_of(sigtuna.patch(f"/Users/{user_id}", leave)) == (404, None)
    assert error_of(sigtuna.delete(f"/Users/{user_id}")) == (404, None)
    assert find(sigtuna, f'userName eq "{ANNA}"') == []
    assert sigtuna.get("/Users").get_json()["totalResults"] == 0
    taken = sigtuna.post("/Users", user_payload(external_id="s-1"))
    assert error_of(taken) == (409, "uniqueness")
    assert "Anna" not in taken.get_data(as_text=True)
    assert (person().municipality.name, person().active) == ("Järfälla", True)


@pytest.mark.parametrize("role", [Role.HR, Role.COORDINATOR, Role.ADMIN])
def test_a_token_never_reaches_anyone_holding_hr_or_a_wider_role(entra, ifo, role):
    holder = factories.employee(unit=ifo, email=ANNA)
    factories.with_role(holder, role, municipality_name="Järfälla" if role == Role.HR else None)

    assert error_of(entra.get(f"/Users/{holder.id}")) == (404, None)
    assert find(entra, f'userName eq "{ANNA}"') == []
    assert entra.get("/Users").get_json()["totalResults"] == 0
    replaced = entra.put(f"/Users/{holder.id}", user_payload(active=False))
    assert error_of(replaced) == (404, None)
    created = entra.post("/Users", user_payload(active=False))
    assert error_of(created) == (409, "uniqueness")
    assert (person().active, person().end_date) == (True, None)


def test_a_manager_is_provisioned_like_anyone_else(entra, ifo):
    manager = factories.employee(unit=ifo, email=ANNA)
    factories.with_role(manager, Role.MANAGER, on_unit=ifo)

    assert [u["id"] for u in find(entra, f'userName eq "{ANNA}"')] == [str(manager.id)]


def test_a_web_process_imports_scim2_models_only_at_its_first_scim_request(app) -> None:  # type: ignore[no-untyped-def]
    """The library costs about a second of CPU to import (pydantic reads each model's source):
    what gunicorn loads leaves it out, and the endpoint's first request brings it in."""
    probe = (
        "import sys, wsgi; "
        "print('scim2_models' in sys.modules); "
        "answer = wsgi.app.test_client().get('/scim/v2/Users'); "
        "print(answer.status_code, answer.mimetype, answer.get_json()['schemas']); "
        "print('scim2_models' in sys.modules)"
    )
    env = dict(os.environ)
    env.update(
        TRAINING_TRACKER_ENV="testing",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"],
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "False",
        "401 application/scim+json ['urn:ietf:params:scim:api:messages:2.0:Error']",
        "True",
    ]
