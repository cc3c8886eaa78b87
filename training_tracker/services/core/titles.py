"""A course's title in the reader's language, for pages, mails and the messages services
write (a refusal naming the course); templates call it as ``course_title(course)``."""

from __future__ import annotations

from typing import Protocol

from flask_babel import get_locale

__all__ = ["Titled", "course_title"]


class Titled(Protocol):
    @property
    def title(self) -> str: ...


def course_title(course: Titled) -> str:
    """The English title when English is chosen and the provider gave one, else the Swedish
    title. Pages and mails (rendered in the recipient's language) show every course title
    through this."""
    english = getattr(course, "title_en", None)
    if english and str(get_locale() or "sv").startswith("en"):
        return str(english)
    return course.title
