"""A municipality that requires sign-in through its identity provider (issue #18): its people
cannot sign in or choose a password with one of ours; admins keep their passwords, and other
municipalities are as before."""

from __future__ import annotations

import sqlalchemy as sa

from tests import factories
from training_tracker.extensions import db
from training_tracker.models import Employee, OutboxMessage, Role
from training_tracker.services.people import accounts, sso_providers
from training_tracker.services.people.accounts import TokenPurpose

REFUSED = "Din kommun loggar in sina medarbetare via kommunens egen inloggning."


def _require_sso(municipality_name: str = "Järfälla") -> None:
    factories.identity_provider(
        f"https://login.{municipality_name.lower()}.example",
        municipality_name=municipality_name,
        domains=("jarfalla.se",),
    )
    sso_providers.set_sso_required(
        db.session, factories.municipality(municipality_name), True, actor=None
    )
    db.session.commit()


def test_its_people_cannot_sign_in_with_a_password(client) -> None:
    person = factories.employee(unit=factories.unit("Järfälla"))
    _require_sso()
    response = client.post_form("/login", {"email": person.email, "password": factories.PASSWORD})
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert REFUSED in page and "Logga in via din kommun" in page
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert db.session.get(Employee, person.id).last_login_at is None  # type: ignore[union-attr]


def test_an_admin_of_that_municipality_keeps_the_password(client) -> None:
    person = factories.with_role(factories.employee(unit=factories.unit("Järfälla")), Role.ADMIN)
    _require_sso()
    client.sign_in(person)  # asserts the 302 of a sign-in


def test_other_municipalities_still_sign_in_with_passwords(client) -> None:
    person = factories.employee(unit=factories.unit("Sigtuna"))
    _require_sso()
    client.sign_in(person)


def test_no_reset_mail_and_no_password_from_a_link(client) -> None:
    person = factories.employee(unit=factories.unit("Järfälla"))
    elsewhere = factories.employee(unit=factories.unit("Sigtuna"))
    token = accounts.make_token(person, TokenPurpose.PASSWORD_RESET)
    invitation = accounts.make_token(person, TokenPurpose.INVITATION)
    _require_sso()
    accounts.request_password_reset(db.session, person.email)
    accounts.request_password_reset(db.session, elsewhere.email)
    db.session.commit()
    recipients = db.session.scalars(sa.select(OutboxMessage.recipient_id)).all()
    assert recipients == [elsewhere.id]

    for url in (f"/password/reset/{token}", f"/invitation/{invitation}"):
        page = client.get(url)
        assert page.status_code == 410
        assert "Du behöver inget lösenord" in page.get_data(as_text=True)
        posted = client.post_form(
            url, {"password": "ett-nytt-langt-losenord-42", "confirm": "ett-nytt-langt-losenord-42"}
        )
        assert posted.status_code == 410
    db.session.refresh(person)
    assert accounts.authenticate(db.session, person.email, factories.PASSWORD) is not None
