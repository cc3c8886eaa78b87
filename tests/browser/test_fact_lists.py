"""Fact lists (``dl.facts``): every value sits under or beside its own label, at desktop and
phone width, on every page that has one. Measured in the browser: a grid that places labels
and values as separate cells once put "Status" beside the date and "Utbildare" above the unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from tests import factories
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.support import assert_accessible, assert_no_sideways_scroll, sign_in
from training_tracker.extensions import db
from training_tracker.models import CompletionStatus, OutboxStatus, Role, Sector
from training_tracker.services.training.certificates import CertificateReading, Check, ReadStatus

pytestmark = pytest.mark.browser

# For each dt of each dl.facts: where its first dd lies, relative to it, and whether another
# dt of the same list lies between them. "right": the dd starts right of the dt, on its line;
# "below": the dd starts at the dt's left edge, just under it. Anything else is a misplaced
# value. Boxes are measured as the browser laid them out (getBoundingClientRect).
PAIRS_SCRIPT = """() => {
  const problems = [];
  const lists = Array.from(document.querySelectorAll('dl.facts'));
  lists.forEach((dl, listIndex) => {
    const terms = Array.from(dl.querySelectorAll('dt'));
    terms.forEach(dt => {
      // The dt's own dd: the first dd after it in the list, before the next dt.
      const all = Array.from(dl.querySelectorAll('dt, dd'));
      const at = all.indexOf(dt);
      const dd = all[at + 1];
      const label = dt.textContent.trim().replace(/\\s+/g, ' ');
      if (!dd || dd.tagName !== 'DD') { problems.push(`${label}: no value`); return; }
      const t = dt.getBoundingClientRect();
      const d = dd.getBoundingClientRect();
      const right = d.left >= t.right - 1 && d.left - t.right <= 48
        && Math.abs(d.top - t.top) <= 8;
      const below = Math.abs(d.left - t.left) <= 2 && d.top >= t.bottom - 1
        && d.top - t.bottom <= 16;
      const between = terms.filter(other => other !== dt).some(other => {
        const o = other.getBoundingClientRect();
        if (right) return o.left >= t.right - 1 && o.right <= d.left + 1
          && o.bottom > t.top && o.top < t.bottom;
        return o.top >= t.bottom - 1 && o.bottom <= d.top + 1
          && o.right > d.left && o.left < d.right;
      });
      if (!(right || below) || between) {
        const value = dd.textContent.trim().replace(/\\s+/g, ' ').slice(0, 40);
        problems.push(
          `list ${listIndex + 1}: "${label}" at (${Math.round(t.left)}, ${Math.round(t.top)})`
          + ` and its value "${value}" at (${Math.round(d.left)}, ${Math.round(d.top)})`
          + (between ? ', another label between them' : ', not beside or under it'));
      }
    });
  });
  return {lists: lists.length, terms: document.querySelectorAll('dl.facts dt').length, problems};
}"""


def assert_labels_beside_their_values(page: Any) -> int:
    """Every label of every fact list has its own value right of it or just under it;
    returns how many labels were measured."""
    page.wait_for_load_state("load")
    found = page.evaluate(PAIRS_SCRIPT)
    assert found["lists"], f"{page.url} has no fact list"
    assert not found["problems"], f"{page.url}:\n" + "\n".join(found["problems"])
    return int(found["terms"])


@dataclass(frozen=True)
class FactPages:
    """Who signs in to which page that has a fact list."""

    pages: list[tuple[str, str]]  # (e-mail, path)


@pytest.fixture()
def fact_pages(app: Flask) -> FactPages:
    """One of each page with a fact list, with every optional fact shown (a rejection reason,
    a validity, a comment, what reading the certificate found)."""
    courses = factories.synced_catalog()
    nck = courses["nck-webbkurs-om-vald"]
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "Individ- och familjeomsorgen")
    manager = factories.with_role(
        factories.employee(unit=unit, first_name="Maja", last_name="Chefsson"),
        Role.MANAGER,
        on_unit=unit,
    )
    anna = factories.employee(
        unit=unit, first_name="Anna", last_name="Lindqvist-Johansson", manager=manager
    )
    for _ in range(5):  # enough people for the unit's counts to be shown to a coordinator
        factories.assignment(factories.employee(unit=unit), nck)
    factories.rule(nck, sector=Sector.SOCIAL_SERVICES, municipality_name="Järfälla")
    factories.assignment(anna, nck)

    reported = factories.completion(anna, nck, status=CompletionStatus.REPORTED)
    reported.note = "Jag gick kursen tillsammans med min arbetsgrupp."
    evidence = factories.evidence(reported)
    evidence.reading = CertificateReading(
        status=ReadStatus.READ,
        name=Check.MATCHED,
        course=Check.DIFFERENT,
        date=Check.DIFFERENT,
        dates_found=(reported.completed_on.replace(day=1),),
    ).to_json()
    rejected = factories.completion(anna, courses["skolverket-arbeta-mot-hrv"])
    rejected.status = CompletionStatus.REJECTED
    rejected.rejection_reason = "Intyget gäller en annan kurs än den du rapporterade."
    db.session.commit()

    admin = factories.admin()
    coordinator = factories.with_role(
        factories.employee(unit=factories.unit("Järfälla", Sector.OTHER, "Kansliet")),
        Role.COORDINATOR,
        municipality_name="Järfälla",
    )
    message = factories.outbox_message(anna, status=OutboxStatus.SENT)
    return FactPages(
        [
            (anna.email, f"/my/completions/{reported.id}"),
            (anna.email, f"/my/completions/{rejected.id}"),
            (manager.email, f"/verify/{reported.id}"),
            (admin.email, f"/employees/{anna.id}"),
            (admin.email, f"/admin/outbox/{message.id}"),
            (coordinator.email, f"/reports/units/{unit.id}"),
        ]
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_every_value_sits_beside_or_under_its_own_label(
    browser: Any, live_server: str, fact_pages: FactPages, viewport: dict[str, int]
) -> None:
    measured = 0
    signed_in_as = None
    context = browser.new_context(locale="sv-SE", viewport=viewport)
    try:
        page = context.new_page()
        for email, path in fact_pages.pages:
            if email != signed_in_as:
                context.clear_cookies()
                sign_in(page, live_server, email)
                signed_in_as = email
            response = page.goto(f"{live_server}{path}")
            assert response is not None and response.ok, f"{path}: HTTP {response.status}"
            measured += assert_labels_beside_their_values(page)
            assert_no_sideways_scroll(page)
            assert_accessible(page)
    finally:
        context.close()
    assert measured >= 30  # every page's labels were found and measured


def test_the_check_finds_a_value_under_the_wrong_label(page: Any) -> None:
    """The measurement itself: a grid of loose dt and dd cells puts values under the wrong
    labels, and the check says which."""
    page.set_content(
        '<!doctype html><html lang="sv"><head><title>Prov</title><style>'
        "dl { display: grid; grid-template-columns: repeat(3, 10rem); margin: 0 }"
        " dd { margin: 0 }</style></head><body><dl class='facts'>"
        "<dt>Status</dt><dd>Väntar</dd><dt>Enhet</dt><dd>IFO</dd>"
        "<dt>Utbildare</dt><dd>NCK</dd></dl></body></html>"
    )
    with pytest.raises(AssertionError, match=r'"Enhet" .* not beside or under it'):
        assert_labels_beside_their_values(page)
    page.set_content(
        '<!doctype html><html lang="sv"><head><title>Prov</title><style>'
        "dl { display: grid; grid-template-columns: repeat(3, 10rem); margin: 0 }"
        " dd { margin: 0 }</style></head><body><dl class='facts'>"
        "<div><dt>Status</dt><dd>Väntar</dd></div><div><dt>Enhet</dt><dd>IFO</dd></div>"
        "<div><dt>Utbildare</dt><dd>NCK</dd></div></dl></body></html>"
    )
    assert assert_labels_beside_their_values(page) == 3
