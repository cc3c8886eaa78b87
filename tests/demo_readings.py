"""The demo's certificate readings, remembered for the rest of the test run.

A seed of the same demo (the browser tests' 150 employees, the scale tests' 3,000) stores the
same PDFs again, and the demo reads each in a child process of its own, as an upload is read:
20-90 ms a file on the 2-core CI machine, about a thousand times a leg. Within
``readings_remembered()``, the first reading of a file is the reader's own (a child process,
the configured limits); a later seed that stores the same bytes for the same person, course,
date and limits gets that verdict again. tests/test_demo.py seeds without it, so the demo's
own reading of every file stays tested there, as the certificate reader is in
tests/test_certificates.py and tests/test_bounded_reading.py.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from flask import current_app

from training_tracker.demo import certificates as demo_certificates
from training_tracker.models import Course, Employee
from training_tracker.services.core.bounded_reading import Limits
from training_tracker.services.training.completions import read_stored_certificate
from training_tracker.services.training.evidence import StoredFile

_readings: dict[Hashable, dict[str, Any]] = {}


def _reading(
    stored: StoredFile, employee: Employee, course: Course, completed_on: date
) -> dict[str, Any]:
    key = (
        stored.sha256,
        stored.content_type,
        employee.full_name,
        course.title,
        course.title_en,
        course.provider.key,
        course.provider.name,
        completed_on,
        Limits.from_config(current_app.config, "CERTIFICATE_READ"),
    )
    if key not in _readings:
        _readings[key] = read_stored_certificate(stored, employee, course, completed_on)
    return copy.deepcopy(_readings[key])


@contextmanager
def readings_remembered() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_certificates, "read_stored_certificate", _reading)
        yield
