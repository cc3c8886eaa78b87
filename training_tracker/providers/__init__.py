"""Course-provider plugins.

A provider is a :class:`CourseProvider` subclass registered with :func:`register`. The built-in
modules named in ``config.COURSE_PROVIDERS`` are imported by :func:`load_providers`; third-party
packages add theirs through the ``training_tracker.providers`` entry-point group, each entry
point naming either a provider class or a module that registers one::

    [project.entry-points."training_tracker.providers"]
    origo = "origo_courses:OrigoProvider"

A plugin, built-in or not, imports what it needs from :mod:`training_tracker.providers.toolkit`
(these classes, ``register``, ``Sector`` and the text tools), never from the app's internals.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import entry_points
from types import ModuleType
from typing import ClassVar

from training_tracker.models.enums import Sector

ENTRY_POINT_GROUP = "training_tracker.providers"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CourseSpec:
    """What a plugin declares about one of its courses."""

    key: str  # stable and globally unique: completions reference it for years
    title: str  # Swedish title, as the provider writes it
    url: str
    audience: tuple[Sector, ...]
    description: str = ""
    title_en: str | None = None
    length_minutes: int | None = None  # approximate
    issues_certificate: bool = True  # an intyg is issued on completion
    validity_months: int | None = None  # None: a completion never expires
    default_due_days: int = 90


@dataclass(frozen=True)
class CertificateFields:
    """What a provider's recogniser read off a certificate in its own layout. A field is None
    when the layout was recognised but that field could not be read; the generic recogniser
    then looks for it in the whole text."""

    name: str | None = None
    course_title: str | None = None
    completed_on: date | None = None


class CourseProvider:
    """Base class of provider plugins: the provider's facts and its courses."""

    key: ClassVar[str]
    name: ClassVar[str]
    website: ClassVar[str]

    def courses(self) -> list[CourseSpec]:
        raise NotImplementedError

    def recognise_certificate(self, text: str) -> CertificateFields | None:
        """Read the fields off a certificate (intyg) of this provider's courses, or return None
        when ``text`` is not laid out like one, so that the generic recogniser reads it.

        ``text`` is what the PDF's first pages hold: NFKC-normalised, soft hyphens removed,
        dashes made ``-``, line breaks kept, at most 20,000 characters. Called only for the
        provider's own courses, and never in a request's or the app's context: it must not
        use Flask state. ``find_dates`` in :mod:`training_tracker.providers.toolkit` parses dates.
        """
        return None


@dataclass
class ProviderRegistry:
    providers: dict[str, type[CourseProvider]] = field(default_factory=dict)

    def register(self, provider_cls: type[CourseProvider]) -> type[CourseProvider]:
        existing = self.providers.get(provider_cls.key)
        if existing is not None and existing is not provider_cls:
            raise ValueError(
                f"Two course providers use the key {provider_cls.key!r}: "
                f"{existing.__module__}.{existing.__qualname__} and "
                f"{provider_cls.__module__}.{provider_cls.__qualname__}"
            )
        self.providers[provider_cls.key] = provider_cls
        return provider_cls


registry = ProviderRegistry()


def register(provider_cls: type[CourseProvider]) -> type[CourseProvider]:
    """Class decorator that makes a provider known to the catalogue."""
    return registry.register(provider_cls)


def load_providers(
    module_names: Iterable[str], *, include_entry_points: bool = True
) -> list[CourseProvider]:
    """Import the configured built-in modules and the entry-point plugins; return one
    instance of every provider they register, ordered by key."""
    wanted: set[str] = set()
    for module_name in module_names:
        wanted |= _keys_registered_by(importlib.import_module(module_name))
    if include_entry_points:
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            loaded = entry_point.load()
            if isinstance(loaded, type) and issubclass(loaded, CourseProvider):
                register(loaded)
                wanted.add(loaded.key)
            elif isinstance(loaded, ModuleType):
                wanted |= _keys_registered_by(loaded)
            else:
                raise TypeError(
                    f"Entry point {entry_point.name!r} in {ENTRY_POINT_GROUP} must name a "
                    f"CourseProvider subclass or a module, not {loaded!r}"
                )
            log.info("Loaded course provider plugin %s", entry_point.name)
    return [registry.providers[key]() for key in sorted(wanted)]


def _keys_registered_by(module: ModuleType) -> set[str]:
    return {cls.key for cls in registry.providers.values() if cls.__module__ == module.__name__}
