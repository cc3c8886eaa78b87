"""The plan of a demo before any row is written: the chosen municipalities' units, named after
real or made-up districts, and how many people each has, in proportion to the population and
sized like real units.
"""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from training_tracker.demo import DemoError, names_units
from training_tracker.demo.municipalities import HOME_MUNICIPALITY, MUNICIPALITIES, POPULATION
from training_tracker.models import Sector

# How staff spread over the sectors of a municipality: schools and care employ the most.
SECTOR_WEIGHTS: dict[Sector, float] = {
    Sector.SOCIAL_SERVICES: 1.6,
    Sector.SCHOOL: 3.0,
    Sector.LEISURE: 0.8,
    Sector.HEALTH_AND_CARE: 3.0,
    Sector.OTHER: 1.0,
}
UNITS_PER_SECTOR = (2, 4)  # at least, in a municipality of some size
STAFF_PER_UNIT = 40  # a large municipality has as many units as it takes for this
MIN_UNIT_STAFF = 6  # a small municipality has fewer units rather than tinier ones
DISTRICT_SUFFIXES = ("norra", "södra", "östra", "västra", "centrum")


@dataclass(frozen=True, slots=True)
class RuleInForce:
    """What assignments need of a rule in force (read from the database by ``demo.rules``)."""

    id: int
    course_id: int
    municipality_id: int | None
    sector: Sector | None
    unit_id: int | None
    due_days: int
    applies_from: date
    for_new_hires: bool
    for_existing_staff: bool

    def applies(self, unit: PlannedUnit) -> bool:
        """``assignments.rule_matches_employee`` for the staff of ``unit``."""
        return (
            (self.municipality_id is None or self.municipality_id == unit.town.id)
            and (self.unit_id is None or self.unit_id == unit.id)
            and (self.sector is None or self.sector == unit.sector)
        )


@dataclass(slots=True)
class PlannedUnit:
    index: int
    town: PlannedTown
    name: str
    sector: Sector
    diligence: float  # how keen the unit is on courses: completion chances are multiplied by it
    headcount: int = 1  # the manager
    slots: list[str] = field(default_factory=list)  # demo accounts among the staff
    id: int = 0
    manager_id: int = 0
    rules: tuple[RuleInForce, ...] = ()
    busy: bool = False  # the demo manager's: more reports await verification


@dataclass(slots=True)
class PlannedTown:
    code: str
    name: str
    units: list[PlannedUnit] = field(default_factory=list)
    id: int = 0


def plan(rng: random.Random, chosen: list[tuple[str, str]], total: int) -> list[PlannedTown]:
    """Units per municipality and sector, and how many people each has."""
    population = sum(POPULATION[code] for code, _name in chosen)
    sector_total = sum(SECTOR_WEIGHTS.values())
    six = {code for code, _name in MUNICIPALITIES}
    towns: list[PlannedTown] = []
    units: list[PlannedUnit] = []
    for code, name in chosen:
        town = PlannedTown(code, name)
        towns.append(town)
        expected = total * POPULATION[code] / population
        places = _places(rng, name, expected)
        diligence = rng.uniform(0.85, 1.1)
        for sector in Sector:
            staff = expected * SECTOR_WEIGHTS[sector] / sector_total
            fewest = rng.randint(*UNITS_PER_SECTOR)
            if code not in six:  # the six keep two to four, as the small demo always had
                fewest = min(fewest, max(1, int(staff // MIN_UNIT_STAFF)))
            count = max(fewest, round(staff / STAFF_PER_UNIT))
            for unit_name in _unit_names(rng, sector, count, places):
                unit = PlannedUnit(
                    len(units), town, unit_name, sector, diligence * rng.uniform(0.8, 1.15)
                )
                town.units.append(unit)
                units.append(unit)

    home = next(town for town in towns if town.code == HOME_MUNICIPALITY)
    manager_unit = next(u for u in home.units if u.sector == Sector.SOCIAL_SERVICES)
    office_unit = next(u for u in home.units if u.sector == Sector.OTHER)
    manager_unit.slots = ["manager", "employee"]  # the unit's manager is the first
    manager_unit.busy = True
    office_unit.slots = ["", "hr", "coordinator", "regional-coordinator", "organiser"]
    for unit in (manager_unit, office_unit):
        unit.headcount = len(unit.slots)

    remaining = total - sum(unit.headcount for unit in units)
    if remaining < 0:
        raise DemoError(
            f"{total} employees are too few for {len(towns)} municipalities with {len(units)} "
            f"units; at least {total - remaining} are needed."
        )
    shares = _largest_remainder(remaining, [POPULATION[town.code] for town in towns])
    for town, share in zip(towns, shares, strict=True):
        in_sector = Counter(unit.sector for unit in town.units)
        weights = [
            SECTOR_WEIGHTS[unit.sector] / in_sector[unit.sector] * rng.uniform(0.6, 1.4)
            for unit in town.units
        ]
        for position in rng.choices(range(len(town.units)), weights=weights, k=share):
            town.units[position].headcount += 1
    return towns


def _places(rng: random.Random, name: str, expected_staff: float) -> list[str]:
    """Districts to name units after: the six's real ones, the town itself elsewhere, and
    made-up ones when a large municipality needs more."""
    own = list(names_units.PLACES.get(name, ()))
    if not own and re.fullmatch(r"\w+", name):
        own = [name]
    wanted = max(4, round(expected_staff / 300))
    extra = min(len(names_units.GENERIC_PLACES), max(0, wanted - len(own)))
    return own + rng.sample(names_units.GENERIC_PLACES, extra)


def _unit_names(rng: random.Random, sector: Sector, count: int, places: list[str]) -> list[str]:
    """``count`` distinct unit names: each template once, at a random place; then every
    template at other places; then districts of those (Hemtjänst Ekdal norra)."""
    templates = names_units.UNIT_TEMPLATES[sector.value]
    found: dict[str, None] = {}

    def fill(template: str, place: str) -> str:
        return template.format(place=place, stem=_stem(place), genitive=_genitive(place))

    for template in rng.sample(templates, len(templates)):
        if len(found) >= count:
            return list(found)
        found.setdefault(fill(template, rng.choice(places)))
    pairs = [(t, p) for t in templates if "{" in t for p in places]
    rng.shuffle(pairs)
    for template, place in pairs:
        if len(found) >= count:
            return list(found)
        found.setdefault(fill(template, place))
    bases = list(found)
    for suffix in itertools.chain(DISTRICT_SUFFIXES, (str(n) for n in itertools.count(2))):
        for base in bases:
            if len(found) >= count:
                return list(found)
            found.setdefault(f"{base} {suffix}")
    raise AssertionError("unreachable")


def _stem(place: str) -> str:
    """The first part of a compound: Viksjö → Viksjöskolan, Kallhäll → Kallhällsskolan."""
    if place in names_units.PLACE_STEMS:
        return names_units.PLACE_STEMS[place]
    return place if place[-1].lower() in "aeiouyåäös" else place + "s"


def _genitive(place: str) -> str:
    return place if place[-1].lower() in "sxz" else place + "s"


def _largest_remainder(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights``, summing exactly to ``total``."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    shares = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares
