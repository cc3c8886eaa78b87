"""scripts/screenshots.py, the Python half of scripts/screenshots.sh, run for one role against
the test server with a stub account list, so that the script cannot rot unnoticed."""

from __future__ import annotations

import importlib.util
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests import factories
from tests.browser.conftest import _require_chromium
from training_tracker.models import Role, Sector

pytestmark = pytest.mark.browser

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshots.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("screenshots", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def _png_width(path: Path) -> int:
    return struct.unpack(">I", path.read_bytes()[16:20])[0]


def test_the_account_lines_of_demo_seed_are_read_and_the_password_line_skipped() -> None:
    accounts = _script().read_accounts(
        ["password\tsecret", "manager\tchef@example.se", "Demo accounts", "hr\thr@example.se"]
    )
    assert [(a.role, a.email) for a in accounts] == [
        ("manager", "chef@example.se"),
        ("hr", "hr@example.se"),
    ]


def test_one_role_gets_each_page_at_both_widths(live_server: str, tmp_path: Path) -> None:
    _require_chromium()
    unit = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO")
    manager = factories.with_role(factories.employee(unit=unit), Role.MANAGER, on_unit=unit)
    accounts = tmp_path / "accounts.tsv"
    accounts.write_text(f"password\tx\nmanager\t{manager.email}\n", encoding="utf-8")
    out = tmp_path / "shots"

    # In a process of its own, as scripts/screenshots.sh runs it (and away from the browser
    # tests' own Playwright loop).
    run = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--base-url",
            live_server,
            "--accounts",
            str(accounts),
            "--password",
            factories.PASSWORD,
            "--out",
            str(out),
            "--screen",
            "/",
            "--screen",
            "/privacy",
            "--screen",
            "/admin/roles",  # a manager may not: skipped, not shot
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    shots = sorted(path.name for path in (out / "manager").iterdir())
    assert "01-start-desktop.png" in shots and "01-start-phone.png" in shots
    assert any("privacy" in name for name in shots)
    assert not any("admin" in name for name in shots)
    assert _png_width(out / "manager" / "01-start-desktop.png") == 1280
    assert _png_width(out / "manager" / "01-start-phone.png") == 390
    assert f"{len(shots)} screenshots in {out.resolve()}" in run.stdout
