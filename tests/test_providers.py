"""Course providers are plugins: built-in modules named by the config, third-party ones
through the ``training_tracker.providers`` entry-point group; ``catalog sync`` upserts them."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import count
from training_tracker.extensions import db
from training_tracker.models import Course, CourseStatus, Provider, Sector
from training_tracker.providers import (
    CourseProvider,
    CourseSpec,
    ProviderRegistry,
    load_providers,
    registry,
)
from training_tracker.services.training import catalog

BUILT_IN_COURSES = {
    "nck-webbkurs-om-vald",
    "socialstyrelsen-hrv-socialtjansten",
    "socialstyrelsen-hrv-halso-och-sjukvarden",
    "skolverket-arbeta-mot-hrv",
    "webbkursheder-hrv",
}


def sync(providers: list[CourseProvider] | None = None) -> catalog.SyncReport:
    report = catalog.sync_catalog(db.session, providers or catalog.providers_from_config())
    db.session.commit()
    return report


def test_the_config_names_the_built_in_providers(app):
    providers = load_providers(app.config["COURSE_PROVIDERS"], include_entry_points=False)
    assert [p.key for p in providers] == [
        "gemensamma-programmet",
        "nck",
        "skolverket",
        "socialstyrelsen",
        "webbkursheder",
    ]
    assert {spec.key for p in providers for spec in p.courses()} == BUILT_IN_COURSES


def test_a_provider_left_out_of_the_config_is_not_loaded(app):
    providers = load_providers(["training_tracker.providers.nck"], include_entry_points=False)
    assert [p.key for p in providers] == ["nck"]


def test_built_in_courses_carry_their_facts():
    sync()
    nck = db.session.scalars(sa.select(Course).where(Course.key == "nck-webbkurs-om-vald")).one()
    assert nck.title == "Webbkurs om våld"
    assert nck.issues_certificate
    assert nck.length_minutes == 165
    assert Sector.SOCIAL_SERVICES in nck.audience_sectors
    assert nck.provider.name.startswith("Nationellt centrum för kvinnofrid")
    school = db.session.scalars(
        sa.select(Course).where(Course.key == "skolverket-arbeta-mot-hrv")
    ).one()
    assert school.audience_sectors == [Sector.SCHOOL]


def test_sync_is_idempotent():
    first = sync()
    assert sorted(first.created) == sorted(BUILT_IN_COURSES)
    second = sync()
    assert not second.changed
    assert sorted(second.unchanged) == sorted(BUILT_IN_COURSES)
    assert count(Course) == 5
    assert count(Provider) == 5  # with Gemensamma programmet, which declares no course


def test_sync_overwrites_plugin_facts_but_keeps_what_an_admin_decided():
    sync()
    course = db.session.scalars(sa.select(Course).where(Course.key == "webbkursheder-hrv")).one()
    course.title = "Stale title"
    course.status = CourseStatus.INACTIVE
    course.due_days_override = 30
    db.session.commit()
    report = sync()
    assert report.updated == ["webbkursheder-hrv"]
    db.session.refresh(course)
    assert course.title == "Webbkurs om hedersrelaterat våld och förtryck"
    assert course.status == CourseStatus.INACTIVE
    assert course.due_days == 30


class _OneCourse(CourseProvider):
    key = "kommunens-introduktion"
    name = "Kommunens introduktionsdag"
    website = "https://intranat.example/"

    def courses(self) -> list[CourseSpec]:
        return [
            CourseSpec(
                key="introduktionsdag",
                title="Introduktionsdag för nyanställda",
                url="https://intranat.example/intro",
                audience=(Sector.OTHER,),
                validity_months=24,
            )
        ]


def test_a_course_no_longer_declared_is_deleted_when_nothing_refers_to_it():
    sync([*catalog.providers_from_config(), _OneCourse()])
    report = sync()
    assert report.deleted == ["introduktionsdag"]
    assert db.session.scalar(sa.select(Course).where(Course.key == "introduktionsdag")) is None
    provider = db.session.scalars(
        sa.select(Provider).where(Provider.key == "kommunens-introduktion")
    ).one()
    assert not provider.active


def test_a_course_with_completions_is_retired_never_deleted():
    sync([*catalog.providers_from_config(), _OneCourse()])
    intro = db.session.scalars(sa.select(Course).where(Course.key == "introduktionsdag")).one()
    person = factories.employee()
    done = factories.completion(person, intro)
    report = sync()
    assert report.retired == ["introduktionsdag"]
    assert report.deleted == []
    db.session.refresh(intro)
    assert intro.status == CourseStatus.RETIRED
    assert db.session.get(type(done), done.id) is not None
    assert not sync().changed, "retiring is idempotent too"
    # Declared again (the plugin came back): active again, history intact.
    assert sync([*catalog.providers_from_config(), _OneCourse()]).updated == ["introduktionsdag"]
    db.session.refresh(intro)
    assert intro.status == CourseStatus.ACTIVE


def test_two_providers_may_not_share_a_key():
    own_registry = ProviderRegistry()
    own_registry.register(_OneCourse)

    class Impostor(_OneCourse):
        pass

    with pytest.raises(ValueError, match="kommunens-introduktion"):
        own_registry.register(Impostor)


THIRD_PARTY_MODULE = """
from training_tracker.models.enums import Sector
from training_tracker.providers import CourseProvider, CourseSpec


class OrigoProvider(CourseProvider):
    key = "origo"
    name = "Origo – resurscentrum mot hedersrelaterat förtryck och våld"
    website = "https://www.origo.example/"

    def courses(self):
        return [
            CourseSpec(
                key="origo-fordjupning",
                title="Fördjupning i hedersrelaterat våld",
                url="https://www.origo.example/kurs",
                audience=(Sector.SOCIAL_SERVICES, Sector.SCHOOL),
                validity_months=36,
            )
        ]
"""


@pytest.fixture()
def third_party_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed distribution, as pip would leave it: a module plus a .dist-info whose
    entry_points.txt names the provider in our group."""
    (tmp_path / "origo_courses.py").write_text(THIRD_PARTY_MODULE, encoding="utf-8")
    dist_info = tmp_path / "origo_courses-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: origo-courses\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        textwrap.dedent(
            """\
            [training_tracker.providers]
            origo = origo_courses:OrigoProvider
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("origo_courses", None)
    registry.providers.pop("origo", None)


def test_a_third_party_provider_registers_through_the_entry_point_group(
    app, runner, third_party_package
):
    result = runner.invoke(args=["catalog", "sync"])
    assert result.exit_code == 0, result.output
    assert "created: origo-fordjupning" in result.output
    course = db.session.scalars(sa.select(Course).where(Course.key == "origo-fordjupning")).one()
    assert course.provider.key == "origo"
    assert course.validity_months == 36
    listing = runner.invoke(args=["catalog", "list"])
    assert "origo-fordjupning" in listing.output


def test_entry_points_can_be_switched_off(app, monkeypatch, third_party_package):
    monkeypatch.setitem(app.config, "LOAD_PROVIDER_ENTRY_POINTS", False)
    assert "origo" not in {p.key for p in catalog.providers_from_config()}


def test_catalog_cli_sync_twice_then_list(runner):
    first = runner.invoke(args=["catalog", "sync"])
    assert "5 created" in first.output
    second = runner.invoke(args=["catalog", "sync"])
    assert second.exit_code == 0
    assert "0 created, 0 updated, 5 unchanged, 0 retired, 0 deleted" in second.output
    listing = runner.invoke(args=["catalog", "list"])
    assert listing.exit_code == 0
    lines = listing.output.strip().splitlines()
    assert len(lines) == 5
    assert {line.split("\t")[1] for line in lines} == BUILT_IN_COURSES
