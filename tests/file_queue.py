"""A pytest plugin that lets several pytest processes share one leg's tests, file by file.

``pytest -p tests.file_queue --file-queue=DIR`` runs only the test files this process claims in
DIR: a file is claimed by creating ``DIR/claims/<file>`` exclusively, so each file runs in
exactly one of the processes sharing DIR (each with its own database). scripts/test.sh uses it
so that the core whose leg ends first takes over files of the other leg, instead of idling.

Files are claimed longest first (an estimate: see ``_estimated_seconds``), so what is left for a
process that joins late is many short files, which divide evenly. Each process records how
many tests it ran in ``DIR/ran/<pid>`` and the number collected in ``DIR/collected``; the
script checks that together they ran every test. ``DIR/exhausted`` appears once every file is
claimed (when the last one is), so the script starts no process that would find nothing to do.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Rough seconds per test on the 2-core CI machine, for the order in which files are claimed
# (only the balance of the two workers depends on them, never which tests run).
SECONDS_PER_TEST = 0.3
SECONDS_PER_BROWSER_TEST = 3.0  # a real page loads in Chromium, scripts run
# Files whose tests start processes of their own (gunicorn, flask commands, the bench): about
# this long whatever their number of tests. Left to the end, one of them would run alone.
SECONDS_OF_FILES_THAT_START_PROCESSES = {
    "tests/test_multi_process.py": 130.0,
    "tests/test_bench.py": 70.0,
    "tests/test_scheduler.py": 30.0,
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--file-queue",
        metavar="DIR",
        help="run only the test files claimed in DIR, shared with other pytest processes",
    )


def _file_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def _estimated_seconds(file: str, tests: int) -> float:
    per_test = SECONDS_PER_BROWSER_TEST if file.startswith("tests/browser/") else SECONDS_PER_TEST
    return SECONDS_OF_FILES_THAT_START_PROCESSES.get(file, 0.0) + per_test * tests


def _longest_first(items: list[pytest.Item]) -> list[list[pytest.Item]]:
    """The items grouped by file (in collection order within a file), longest file first."""
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(_file_of(item), []).append(item)
    return [
        files[name]
        for name in sorted(
            files, key=lambda name: _estimated_seconds(name, len(files[name])), reverse=True
        )
    ]


def _claim_of(queue: Path, file: str) -> Path:
    return queue / "claims" / file.replace("/", "__")


def _claim(queue: Path, file: str) -> bool:
    claim = _claim_of(queue, file)
    try:
        os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    option = session.config.getoption("file_queue")
    if not option or session.config.option.collectonly:
        return None  # pytest's own loop
    queue = Path(option)
    (queue / "claims").mkdir(parents=True, exist_ok=True)
    (queue / "ran").mkdir(exist_ok=True)
    (queue / "collected").write_text(f"{len(session.items)}\n")

    groups = _longest_first(session.items)
    pending = iter(groups)

    files = [_file_of(group[0]) for group in groups]

    def next_claimed() -> list[pytest.Item] | None:
        for group in pending:
            if _claim(queue, _file_of(group[0])):
                if all(_claim_of(queue, file).exists() for file in files):
                    (queue / "exhausted").touch()
                return group
        (queue / "exhausted").touch()
        return None

    ran = 0
    current = next_claimed()
    while current is not None:
        # The next file is claimed before this file's last test runs: pytest tears a module's
        # fixtures down by looking at the test that runs next.
        following: list[pytest.Item] | None = None
        for index, item in enumerate(current):
            if index == len(current) - 1:
                following = next_claimed()
                next_item = following[0] if following else None
            else:
                next_item = current[index + 1]
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=next_item)
            ran += 1
            if session.shouldfail:
                raise session.Failed(session.shouldfail)
            if session.shouldstop:
                raise session.Interrupted(session.shouldstop)
        current = following
    (queue / "ran" / str(os.getpid())).write_text(f"{ran}\n")
    return True
