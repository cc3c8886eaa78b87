"""What each kind of outbox message and each of its statuses is called, for the admin's outbox,
the audit log, a person's page and a personal-data export alike."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from training_tracker.models import OutboxStatus

MESSAGE_KINDS = {
    "invitation": _l("Välkomstmejl med inbjudan"),
    "password_reset": _l("Länk för nytt lösenord"),
    "email_changed": _l("Besked om ändrad e-postadress"),
    "completion_rejected": _l("Rapporten avvisades"),
    "completion_recorded": _l("Genomförd kurs registrerad av HR"),
    "reminder": _l("Påminnelse"),
    "escalation": _l("Påminnelse till chefen"),
    "digest": _l("Veckosammanfattning"),
    "manual_reminder": _l("Påminnelse som chefen eller HR bad om"),
    "programme_signup": _l("Anmälan till Gemensamma programmet"),
    "programme_reminder": _l("Påminnelse om ett tillfälle i Gemensamma programmet"),
    "programme_message": _l("Meddelande från arrangören av Gemensamma programmet"),
    "programme_approval": _l("Anmälan till Gemensamma programmet som väntar på chefens beslut"),
}
MESSAGE_STATUSES = {
    OutboxStatus.QUEUED: _l("I kö"),
    OutboxStatus.SENDING: _l("Skickas"),
    OutboxStatus.SENT: _l("Skickat"),
    OutboxStatus.FAILED: _l("Kunde inte skickas"),
    OutboxStatus.CANCELLED: _l("Stoppat"),
}
