"""The templates' shared pieces: one badge per course state, enum members as Jinja tests, and no
template comparing an enum's stored string."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask, render_template_string
from jinja2 import TemplateAssertionError

from training_tracker.services.training.progress import STATE_LABELS, CourseState

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# ``x.value == 'y'``, ``x.value in (...)``, ``{...}.get(x.value)``: the string spelt twice.
COMPARES_VALUE = re.compile(r"\.value\s*(?:==|!=|not\s+in\b|in\b)|\.get\([^)]*\.value\b")


def test_no_template_compares_an_enum_value_string() -> None:
    found = [
        f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if COMPARES_VALUE.search(line)
    ]
    assert found == []


def test_every_course_state_has_one_name_and_one_badge(app: Flask) -> None:
    assert set(STATE_LABELS) == set(CourseState)
    with app.test_request_context():
        for state in CourseState:
            badge = render_template_string(
                '{% from "_status.html" import state_badge %}{{ state_badge(s) }}', s=state
            )
            assert badge.startswith('<span class="badge') and f">{state.label}</span>" in badge
        overdue = render_template_string(
            '{% from "_status.html" import state_badge %}{{ state_badge(s) }}',
            s=CourseState.OVERDUE,
        )
        assert overdue == '<span class="badge badge-warn">Försenad</span>'


def test_enum_members_are_tests_and_a_misspelt_one_fails_to_compile(app: Flask) -> None:
    with app.test_request_context():
        assert render_template_string("{{ s is overdue }}", s=CourseState.OVERDUE) == "True"
        assert render_template_string("{{ s is overdue }}", s=CourseState.PENDING) == "False"
        with pytest.raises(TemplateAssertionError):
            render_template_string("{{ s is overdeu }}", s=CourseState.OVERDUE)
