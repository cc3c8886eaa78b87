"""E-mail addresses as the tracker keeps them: one spelling per address, so that the same person
is found whoever typed it (HR's form, the import, a sign-in, a group list)."""

from __future__ import annotations


def normalise_email(email: str) -> str:
    """Trimmed and lower-cased: the database refuses any other spelling (``email_lowercase``)."""
    return email.strip().lower()
