"""Sign-in, sign-out, invitation and password-reset pages."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import (
    Blueprint,
    copy_current_request_context,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from training_tracker import security
from training_tracker.auth.forms import (
    ForgotPasswordForm,
    LanguageForm,
    LoginForm,
    SetPasswordForm,
    SsoEmailForm,
)
from training_tracker.extensions import db, limiter
from training_tracker.fields import required
from training_tracker.models import Employee, IdentityProvider, SsoProtocol
from training_tracker.ratelimit import invitation_limit, user_or_address
from training_tracker.redirects import safe_next
from training_tracker.services.core.emails import normalise_email
from training_tracker.services.messaging.mail_rendering import absolute_url
from training_tracker.services.people import (
    accounts,
    failed_logins,
    oidc_sign_in,
    saml_sign_in,
    sso_providers,
)
from training_tracker.services.people.accounts import TokenProblem, TokenPurpose

bp = Blueprint("auth", __name__)

# Kept in the session after a sign-in through the municipality's identity provider (the
# provider's id and the ID token), for the provider's logout.
SIGNED_IN_WITH = "sso"


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _reset_limit() -> str:
    return current_app.config["PASSWORD_RESET_RATE_LIMIT"]


def _submitted_email() -> str:
    return "email:" + normalise_email(request.form.get("email", ""))


def start_session(employee: Employee) -> None:
    """A new session for a person who proved who they are (a password, a link, or SSO)."""
    # A new session at every sign-in: nothing planted in the old one carries over.
    language = session.get("language")
    session.clear()
    if language in ("sv", "en"):
        # Chosen on the sign-in page: the person wants it from now on.
        employee.preferred_language = language
        db.session.commit()
    login_user(employee)
    session.permanent = False
    security.stamp_new_session()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_submitted_email)
def login() -> Response | tuple[Response, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        employee = accounts.authenticate(
            db.session, required(form.email.data), required(form.password.data)
        )
        if employee is not None and not sso_providers.password_allowed(employee):
            # Its municipality signs its people in through its own identity provider.
            db.session.rollback()
            form.password.errors = [
                *form.password.errors,
                _(
                    "Din kommun loggar in sina medarbetare via kommunens egen inloggning. "
                    "Använd ”Logga in via din kommun”."
                ),
            ]
            return _login_page(form), 403
        if employee is not None:
            accounts.record_login(db.session, employee)
            db.session.commit()
            start_session(employee)
            return redirect(safe_next(request.args.get("next"), url_for("main.home")))
        failed_logins.record(db.session, required(form.email.data))
        db.session.commit()
        form.password.errors = [*form.password.errors, _("Fel e-postadress eller lösenord.")]
        return _login_page(form), 401
    return _login_page(form)


def _login_page(form: LoginForm) -> Response:
    """The sign-in page: a password, or the municipality's own sign-in (by e-mail address or
    by one of the municipalities' buttons)."""
    providers = sso_providers.all_providers(db.session)
    response = make_response(
        render_template(
            "auth/login.html",
            form=form,
            sso_form=SsoEmailForm(formdata=None, prefix="sso"),
            providers=providers,
            next_page=request.args.get("next"),
        )
    )
    # The address form ends at a provider: the policy lets the form go there.
    origins = {
        origin
        for p in providers
        for origin in (
            saml_sign_in.sign_in_origins(p)
            if p.protocol == SsoProtocol.SAML
            else oidc_sign_in.sign_in_origins(p)
        )
    }
    response.headers["Content-Security-Policy"] = security.content_security_policy(
        form_targets=origins
    )
    return response


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response | str:
    # Ends every session of the account, on every device, not only this cookie.
    accounts.end_all_sessions(db.session, current_user, actor=current_user)
    db.session.commit()
    at_provider = _provider_logout()
    logout_user()
    session.clear()
    if at_provider is not None:
        # Signed in through the municipality: offer to sign out there too (RP-initiated
        # logout), or the next sign-in would pass without a question.
        provider, url = at_provider
        return render_template("auth/signed_out.html", provider=provider, logout_url=url)
    flash(_("Du är utloggad."), "success")
    return redirect(url_for("auth.login"))


def _provider_logout() -> tuple[IdentityProvider, str] | None:
    """The identity provider this session was signed in through, and its logout URL, if it
    offers one."""
    signed_in_with = session.get(SIGNED_IN_WITH)
    if not isinstance(signed_in_with, dict):
        return None
    provider = db.session.get(IdentityProvider, signed_in_with.get("provider_id"))
    if provider is None:
        return None
    if provider.protocol == SsoProtocol.SAML:
        url = saml_sign_in.logout_url(provider, signed_in_with)
    else:
        url = oidc_sign_in.logout_url(
            provider,
            id_token=signed_in_with.get("id_token"),
            post_logout_redirect_uri=absolute_url("auth.login"),
        )
    return (provider, url) if url else None


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def forgot_password() -> str | Response:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # The same answer whether or not the address has an account, and given before
        # anything is looked up, so it also takes the same time: the lookup and the mail
        # follow once the answer is sent (see _after_the_answer).
        flash(
            _(
                "Om adressen hör till ett konto har vi skickat en länk för att välja nytt "
                "lösenord. Länken gäller i %(minutes)d minuter.",
                minutes=current_app.config["PASSWORD_RESET_MAX_AGE_MINUTES"],
            ),
            "success",
        )
        response = redirect(url_for("auth.login"))
        response.call_on_close(_after_the_answer(_request_reset, form.email.data or ""))
        return response
    return render_template("auth/forgot_password.html", form=form)


def _request_reset(email: str) -> None:
    try:
        accounts.request_password_reset(db.session, email)
        db.session.commit()
    except Exception:
        db.session.rollback()
        current_app.logger.exception("A password reset request could not be queued")


def _after_the_answer(work: Callable[[str], None], argument: str) -> Callable[[], None]:
    """``work`` to run once the response has been sent (the server closes it: gunicorn and
    Werkzeug both do after writing the last byte), in a copy of this request's context."""
    return copy_current_request_context(functools.partial(work, argument))


TOKEN_MESSAGES = {
    TokenPurpose.INVITATION: {
        TokenProblem.EXPIRED: _l("Inbjudningslänken har gått ut. Be HR att skicka en ny inbjudan."),
        TokenProblem.USED: _l(
            "Inbjudningslänken har redan använts. Logga in med ditt lösenord, eller välj "
            "”Glömt lösenordet?”."
        ),
        TokenProblem.INVALID: _l(
            "Inbjudningslänken är ogiltig. Kontrollera att hela länken kom med."
        ),
        TokenProblem.READDRESSED: _l(
            "Inbjudningslänken gäller inte längre: e-postadressen på kontot har ändrats "
            "sedan den skickades. Be HR att skicka en ny inbjudan."
        ),
    },
    TokenPurpose.PASSWORD_RESET: {
        TokenProblem.EXPIRED: _l("Länken har gått ut. Begär en ny länk nedan."),
        TokenProblem.USED: _l("Länken har redan använts. Begär en ny länk om du behöver."),
        TokenProblem.INVALID: _l("Länken är ogiltig. Kontrollera att hela länken kom med."),
        TokenProblem.READDRESSED: _l(
            "Länken gäller inte längre: e-postadressen på kontot har ändrats sedan den "
            "skickades. Begär en ny länk nedan."
        ),
    },
}


def _token_problem_page(purpose: TokenPurpose, problem: TokenProblem) -> tuple[str, int]:
    message = str(TOKEN_MESSAGES[purpose][problem])
    gone = (TokenProblem.EXPIRED, TokenProblem.USED, TokenProblem.READDRESSED)
    status = 410 if problem in gone else 404
    return render_template("auth/link_problem.html", message=message, purpose=purpose), status


def _set_password_page(token: str, purpose: TokenPurpose) -> str | Response | tuple[str, int]:
    check = accounts.check_token(db.session, token, purpose)
    if check.problem is not None or check.employee is None:
        return _token_problem_page(purpose, check.problem or TokenProblem.INVALID)
    employee = check.employee
    if not sso_providers.password_allowed(employee):
        message = _(
            "Du behöver inget lösenord: din kommun loggar in dig via kommunens egen inloggning."
        )
        return render_template(
            "auth/link_problem.html", message=message, purpose=purpose, sso_email=employee.email
        ), 410
    form = SetPasswordForm(email=employee.email, first_name=employee.first_name)
    if form.validate_on_submit():
        accounts.set_password(
            db.session, employee, required(form.password.data), actor=employee, reason=purpose.value
        )
        accounts.record_login(db.session, employee)
        db.session.commit()
        start_session(employee)
        flash(_("Ditt lösenord är sparat och du är inloggad."), "success")
        return redirect(url_for("main.home"))
    template = (
        "auth/accept_invitation.html"
        if purpose == TokenPurpose.INVITATION
        else ("auth/reset_password.html")
    )
    status = 422 if request.method == "POST" else 200
    return render_template(template, form=form, employee=employee), status


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit(invitation_limit, methods=["POST"], key_func=user_or_address)
def accept_invitation(token: str) -> str | Response | tuple[str, int]:
    return _set_password_page(token, TokenPurpose.INVITATION)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset_password(token: str) -> str | Response | tuple[str, int]:
    return _set_password_page(token, TokenPurpose.PASSWORD_RESET)


@bp.route("/language", methods=["POST"])
def change_language() -> Response:
    form = LanguageForm()
    if form.validate_on_submit():
        language = form.language.data
        session["language"] = language
        if current_user.is_authenticated:
            current_user.preferred_language = language
            db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("main.home")))
