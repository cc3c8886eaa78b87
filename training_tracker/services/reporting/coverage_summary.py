"""Summaries of the whole population's cached rows (:class:`~training_tracker.models.
CoverageSummary`): what a reader of every municipality reads on every request (the trend,
or the table by municipality, sector or unit), summed once from every unit's cached rows and
kept in the database beside them, with what it was fresh for.

At a country's size (21,659 units, twelve dates) the trend summed 260,000 cached rows on
every request, and checked that they were fresh in the same pass. A summary is one row, read
with the units' signature now in one statement (a pass over the units and their change
counts, no cached row).

**Why a signature is enough.** A summary is stored only from sums the same statement found
fresh (:func:`~.coverage_cache.fresh_sums`), with the signature that statement read: the
units' count, their ids summed and their change counts summed. A unit's change count only
grows (see :mod:`.coverage_cache_freshness`), and any change to a unit's figures, its
municipality or its sector grows it; a unit created or deleted changes the count or the ids.
So while the signature is the same, nothing a summary sums has changed, and the summary is
what summing the rows again would give. Today's figures also depend on the date: a summary
answers on the day it was computed only.

Kept in the database rather than in each process: every worker shares it, and a restored
backup brings the summaries that belong to its data.
"""

from __future__ import annotations

import json
import logging
import weakref
from collections.abc import Sequence
from datetime import date
from enum import Enum
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session

from training_tracker.models import CoverageSummary
from training_tracker.services.reporting import coverage_cache_store
from training_tracker.services.reporting.coverage_cache_freshness import units_now, variant_of
from training_tracker.services.reporting.coverage_types import CoverageFilters

log = logging.getLogger(__name__)

SUMMARY = CoverageSummary.__table__
# Below this many units, summing their cached rows costs what reading a summary does (a
# thousand rows or so), and storing one after every change would be a write per read.
MIN_UNITS = 1_000
# session.info's key for the units' signature its transaction has read.
_SIGNATURE = "coverage_summary_signature"


class Signature(NamedTuple):
    """The units as a summary was fresh for."""

    units: int
    unit_ids: int
    changes: int


def summary_key(read: str, filters: CoverageFilters, days: Sequence[date]) -> str:
    """The key of one read (``read``: "trend", "table-municipality", …) of the whole
    population on ``days``, for ``filters``' variant."""
    return f"{read}|{variant_of(filters)}|{','.join(day.isoformat() for day in days)}"


def read_summary(session: Session, key: str, today: date) -> Any | None:
    """The summary of ``key`` (its payload, as stored) when it is still fresh; else None.
    One statement: the summary with the units' signature now, or the summary alone when the
    session's transaction has read the signature already (a page reads its table and then
    its trend: the units are read once, and both answer for the same moment)."""
    if isinstance(session, scoped_session):  # Flask-SQLAlchemy's db.session
        session = session()
    transaction = session.get_transaction()
    known = session.info.get(_SIGNATURE)
    signature_now = None
    if transaction is not None and known is not None and known[0]() is transaction:
        signature_now = known[1]
    query = sa.select(
        SUMMARY.c.payload, SUMMARY.c.units, SUMMARY.c.unit_ids, SUMMARY.c.changes
    ).where(SUMMARY.c.read_key == key, SUMMARY.c.computed_for == today)
    if signature_now is None:
        now = units_now([])
        query = query.add_columns(now.c.units, now.c.ids, now.c.changes).select_from(
            SUMMARY.join(now, sa.true())
        )
    found = session.execute(query).first()
    if found is None:
        return None
    payload, *numbers = found
    stored = Signature(*map(int, numbers[:3]))
    if signature_now is None:
        signature_now = Signature(*map(int, numbers[3:]))
        held = session.get_transaction()
        if held is not None:
            session.info[_SIGNATURE] = (weakref.ref(held), signature_now)
    return json.loads(payload) if stored == signature_now else None


def store_summary(
    session: Session, key: str, today: date, signature: Signature, payload: Any
) -> None:
    """Store ``payload`` (JSON-able; an Enum is stored as its value) as the summary of
    ``key``, fresh for ``signature``, in a transaction of its own. Losing a race with another
    request storing the same summary, or failing to write, costs nothing but speed. Not
    stored for fewer units than :data:`MIN_UNITS`."""
    if signature.units < MIN_UNITS:
        return
    engine = coverage_cache_store.engine_of(session)
    text = json.dumps(payload, default=_plain, separators=(",", ":"))
    try:
        with coverage_cache_store.writing(engine) as connection:
            # This key's, and any day's before (their keys, the dates, do not come back).
            connection.execute(
                SUMMARY.delete().where(
                    sa.or_(SUMMARY.c.read_key == key, SUMMARY.c.computed_for < today)
                )
            )
            connection.execute(
                SUMMARY.insert().values(
                    read_key=key,
                    computed_for=today,
                    units=signature.units,
                    unit_ids=signature.unit_ids,
                    changes=signature.changes,
                    payload=text,
                )
            )
    except sa.exc.SQLAlchemyError:
        log.info("coverage summary %s not stored (another request stored it, or no lock)", key)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return int(value)  # PostgreSQL's sums of big integers are Decimals
