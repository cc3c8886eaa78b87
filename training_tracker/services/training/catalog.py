"""Upsert what the provider plugins declare into the courses table."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from training_tracker import clock
from training_tracker.models import (
    Assignment,
    Completion,
    Course,
    CourseStatus,
    Provider,
    RequirementRule,
)
from training_tracker.providers import CourseProvider, CourseSpec, load_providers


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.retired or self.deleted)


def _course_facts(spec: CourseSpec, provider: Provider) -> dict[str, object]:
    return {
        "provider_id": provider.id,
        "title": spec.title,
        "title_en": spec.title_en,
        "description": spec.description,
        "url": spec.url,
        "audience": [sector.value for sector in spec.audience],
        "length_minutes": spec.length_minutes,
        "issues_certificate": spec.issues_certificate,
        "validity_months": spec.validity_months,
        "default_due_days": spec.default_due_days,
    }


def sync_catalog(session: Session, providers: list[CourseProvider]) -> SyncReport:
    """Make the catalogue match the plugins. Idempotent: a second run changes nothing.

    A course no plugin declares any more is deleted only if nothing refers to it; with any
    completion, assignment or rule it is marked retired, so no history is lost. What an admin
    decided (an inactive course, a due-days override) survives every sync.
    """
    report = SyncReport()
    declared_keys: set[str] = set()
    providers_by_key = {p.key: p for p in session.scalars(sa.select(Provider))}
    courses_by_key = {c.key: c for c in session.scalars(sa.select(Course))}

    for plugin in providers:
        provider = providers_by_key.get(plugin.key)
        if provider is None:
            provider = Provider(key=plugin.key, name=plugin.name, website=plugin.website)
            session.add(provider)
            session.flush()
            providers_by_key[plugin.key] = provider
        else:
            provider.name, provider.website, provider.active = plugin.name, plugin.website, True
        for spec in plugin.courses():
            if spec.key in declared_keys:
                raise ValueError(f"Course key {spec.key!r} is declared twice")
            declared_keys.add(spec.key)
            facts = _course_facts(spec, provider)
            course = courses_by_key.get(spec.key)
            if course is None:
                session.add(Course(key=spec.key, **facts))
                report.created.append(spec.key)
                continue
            changed = {
                name: value for name, value in facts.items() if getattr(course, name) != value
            }
            if course.status == CourseStatus.RETIRED:
                course.status = CourseStatus.ACTIVE  # declared again
                changed["status"] = CourseStatus.ACTIVE
            if changed:
                for name, value in facts.items():
                    setattr(course, name, value)
                course.synced_at = clock.utcnow()
                report.updated.append(spec.key)
            else:
                report.unchanged.append(spec.key)

    for key, course in courses_by_key.items():
        if key in declared_keys or course.is_local:
            continue
        if _is_referenced(session, course):
            if course.status != CourseStatus.RETIRED:
                course.status = CourseStatus.RETIRED
                report.retired.append(key)
        else:
            session.delete(course)
            report.deleted.append(key)

    declared_providers = {plugin.key for plugin in providers}
    for key, provider in providers_by_key.items():
        if key not in declared_providers and provider.active:
            provider.active = False
    session.flush()
    return report


def _is_referenced(session: Session, course: Course) -> bool:
    for model in (Completion, Assignment, RequirementRule):
        found = session.scalar(sa.select(model.id).where(model.course_id == course.id).limit(1))
        if found is not None:
            return True
    return False


def list_courses(session: Session) -> list[Course]:
    return list(
        session.scalars(
            sa.select(Course).join(Course.provider).order_by(Provider.key, Course.title)
        )
    )


def providers_from_config() -> list[CourseProvider]:
    """The plugins the app's configuration names (and, where allowed, the entry points')."""
    return load_providers(
        current_app.config["COURSE_PROVIDERS"],
        include_entry_points=current_app.config["LOAD_PROVIDER_ENTRY_POINTS"],
    )
