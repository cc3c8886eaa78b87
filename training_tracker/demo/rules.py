"""The demo's courses and requirement rules: the municipalities' own refresher course beside
the catalogue's, the rules that require them by sector, and the snapshot of the rules in force
that the seeder computes assignments from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from training_tracker.demo import DEMO_DOMAIN
from training_tracker.demo.draws import years_before
from training_tracker.demo.plan import RuleInForce
from training_tracker.models import (
    Course,
    CourseStatus,
    Municipality,
    Provider,
    RequirementRule,
    Sector,
)
from training_tracker.services.training.assignments import rule_in_force

# A municipality's own course, as an admin would create it: a refresher that stays valid two
# years, so the demo has completions that expired and courses due again.
LOCAL_PROVIDER_KEY = "kommunen"
LOCAL_COURSE_KEY = "kommunen-repetition-vald"
LOCAL_COURSE_VALIDITY_MONTHS = 24

# Course key → sectors it is required for, in every municipality (None) or only in some.
RULES: list[tuple[str, tuple[Sector, ...], tuple[str, ...] | None]] = [
    (
        "nck-webbkurs-om-vald",
        (Sector.SOCIAL_SERVICES, Sector.SCHOOL, Sector.HEALTH_AND_CARE, Sector.LEISURE),
        None,
    ),
    ("socialstyrelsen-hrv-socialtjansten", (Sector.SOCIAL_SERVICES,), None),
    ("socialstyrelsen-hrv-halso-och-sjukvarden", (Sector.HEALTH_AND_CARE,), None),
    ("skolverket-arbeta-mot-hrv", (Sector.SCHOOL,), None),
    ("webbkursheder-hrv", (Sector.SOCIAL_SERVICES,), ("0123", "0191")),
    (LOCAL_COURSE_KEY, (Sector.SOCIAL_SERVICES, Sector.HEALTH_AND_CARE), None),
]
RULE_DUE_DAYS = 90
RULE_YEARS = 2  # the rules began this long ago


def ensure_local_course(session: Session) -> None:
    """The municipalities' own refresher course: local, so ``catalog sync`` keeps it."""
    if session.scalar(sa.select(Course.id).where(Course.key == LOCAL_COURSE_KEY)):
        return
    provider = session.scalar(sa.select(Provider).where(Provider.key == LOCAL_PROVIDER_KEY))
    if provider is None:
        provider = Provider(
            key=LOCAL_PROVIDER_KEY,
            name="Kommunens egna utbildningar",
            website=f"https://{DEMO_DOMAIN}/utbildning",
        )
        session.add(provider)
        session.flush()
    session.add(
        Course(
            key=LOCAL_COURSE_KEY,
            provider_id=provider.id,
            title="Repetition: våld i nära relationer",
            title_en="Refresher: violence in close relationships",
            description=(
                "Kommunens egen repetition för dig som möter våldsutsatta i arbetet: "
                "rutiner, frågor att ställa och vart du hänvisar. Gäller i två år."
            ),
            url=f"https://{DEMO_DOMAIN}/utbildning/repetition-vald",
            audience=[Sector.SOCIAL_SERVICES.value, Sector.HEALTH_AND_CARE.value],
            length_minutes=90,
            issues_certificate=False,
            validity_months=LOCAL_COURSE_VALIDITY_MONTHS,
            default_due_days=RULE_DUE_DAYS,
            is_local=True,
        )
    )
    session.flush()


def create_rules(
    session: Session,
    courses: dict[str, Course],
    municipalities: dict[str, Municipality],
    today: date,
) -> None:
    applies_from = years_before(today, RULE_YEARS)
    rules = []
    for key, sectors, codes in RULES:
        for code in codes or (None,):
            if code is not None and code not in municipalities:
                continue
            for sector in sectors:
                rules.append(
                    RequirementRule(
                        course_id=courses[key].id,
                        municipality_id=municipalities[code].id if code else None,
                        sector=sector,
                        unit_id=None,
                        due_days=RULE_DUE_DAYS,
                        applies_from=applies_from,
                        active=True,
                    )
                )
    session.add_all(rules)
    session.flush()


# --- what the seeder reads of them: plain values, not ORM objects, millions of times ---------


@dataclass(frozen=True, slots=True)
class CourseInfo:
    id: int
    validity_months: int | None
    available_from: date | None


def rules_in_force(session: Session, today: date) -> list[RuleInForce]:
    """The active courses' rules in force ``today``, by id."""
    return [
        RuleInForce(
            rule.id,
            rule.course_id,
            rule.municipality_id,
            rule.sector,
            rule.unit_id,
            rule.due_days,
            rule.applies_from,
            rule.for_new_hires,
            rule.for_existing_staff,
        )
        for rule in session.scalars(
            sa.select(RequirementRule)
            .join(Course, Course.id == RequirementRule.course_id)
            .where(rule_in_force(today), Course.status == CourseStatus.ACTIVE)
            .order_by(RequirementRule.id)
        )
    ]


def course_infos(session: Session) -> dict[int, CourseInfo]:
    """Every course by id."""
    return {
        course.id: CourseInfo(
            course.id,
            course.validity_months,
            course.available_from.date() if course.available_from else None,
        )
        for course in session.scalars(sa.select(Course))
    }
