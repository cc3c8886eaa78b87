"""The error a service raises when it refuses a change the user asked for."""

from __future__ import annotations


class FieldError(ValueError):
    """A change that cannot be made. The message is for the user; ``field`` names the form
    field it concerns, so a view can show it there (None: the form as a whole)."""

    default_field: str | None = None

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field if field is not None else self.default_field
