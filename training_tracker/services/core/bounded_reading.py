"""Reading an uploaded file in a child process with hard limits: CPU time, memory, wall clock.

Parsers of PDFs and XLSX files (pypdf, openpyxl) do work in proportion to what a file
*unpacks* to, not to its size: a few megabytes can inflate to gigabytes or to millions of text
operators, and in-process checks run only between pages or rows. So the reading runs in a
fresh child process that the kernel stops (``RLIMIT_CPU``, ``RLIMIT_AS``) and the parent kills
at a deadline; the web worker only waits, and grows by no more than the result it receives.

The children come from a multiprocessing *forkserver*: one small server process per worker
process, started at the first reading from a fresh interpreter (so it inherits no database
connection, thread or lock of the worker) with the parsers already imported; each reading is
one fork of it, a few milliseconds. Functions run in the child are module-level functions
(pickled by name) that take plain data (bytes, paths, numbers) and return plain data; they never
touch the database or Flask.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")

_MB = 1024 * 1024
# Imported once in the fork server, so that no reading pays for them.
_PRELOAD = [
    "__main__",  # else each child would import the parent's main script again
    "training_tracker.services.training.certificates",
    "training_tracker.services.imports.table",
    # What those import only when they read (late, so that the web processes start faster).
    "pypdf",
    "openpyxl",
]


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int  # RLIMIT_CPU: the kernel stops the child (whole seconds)
    wall_seconds: float  # the parent kills the child after this long, whatever it does
    memory_bytes: int  # RLIMIT_AS: the child's whole address space, interpreter included

    @classmethod
    def from_config(cls, config: Mapping[str, Any], prefix: str) -> Limits:
        """``<prefix>_CPU_SECONDS``, ``<prefix>_WALL_SECONDS`` and ``<prefix>_MEMORY_MB``."""
        return cls(
            cpu_seconds=int(config[f"{prefix}_CPU_SECONDS"]),
            wall_seconds=float(config[f"{prefix}_WALL_SECONDS"]),
            memory_bytes=int(config[f"{prefix}_MEMORY_MB"]) * _MB,
        )


class LimitExceeded(Exception):
    """The reading was stopped, or the child died; ``reason`` says which, for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "time", "cpu", "memory" or "crashed"


_context_lock = threading.Lock()
_context: Any = None


def _forkserver() -> Any:
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(_PRELOAD)
            _context = context
    return _context


def run(function: Callable[..., T], *args: Any, limits: Limits, **kwargs: Any) -> T:
    """``function(*args, **kwargs)`` in a child process within ``limits``; its return value, or the
    exception it raised (which must pickle: plain exceptions do). Raises
    :class:`LimitExceeded` when a limit stopped it or the child died without an answer."""
    context = _forkserver()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_child,
        args=(sender, limits, function, args, kwargs),
        name="bounded-reading",
        daemon=True,
    )
    try:
        process.start()
        sender.close()  # the child holds the only writing end: its death is our EOF
        if not receiver.poll(limits.wall_seconds):
            raise LimitExceeded("time")
        try:
            kind, value = receiver.recv()
        except (EOFError, OSError):
            process.join(limits.wall_seconds)
            raise LimitExceeded(_death(process.exitcode)) from None
    finally:
        if process.is_alive():
            process.kill()
        if process.pid is not None:
            process.join()
            process.close()
        sender.close()
        receiver.close()
    if kind == "ok":
        return value
    if kind == "raised":
        raise value
    raise LimitExceeded(kind)


def _death(exitcode: int | None) -> str:
    if exitcode == -signal.SIGXCPU:
        return "cpu"
    return "crashed"


def _child(
    sender: Connection,
    limits: Limits,
    function: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    # Soft CPU limit: SIGXCPU ends the process; the hard limit a second later is SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core dump of personal data
    # A parser's complaints about a hostile file (thousands of them) are noise; the parent
    # logs the outcome.
    logging.disable(logging.WARNING)
    try:
        message: tuple[str, Any] = ("ok", function(*args, **kwargs))
        # A library may swallow a failed allocation: zlib's "insufficient memory" is a
        # zlib.error, which pypdf logs and reads on past, returning less than the file holds.
        # A child that cannot take one more megabyte was at its limit: its answer is not the
        # file's.
        bytearray(_MB)
    except MemoryError:
        message = ("memory", None)
    except Exception as error:  # noqa: BLE001 - the parent decides what it means
        message = ("raised", error)
    try:
        sender.send(message)
    except MemoryError:
        sender.send(("memory", None))
    except Exception:  # noqa: BLE001 - an answer that does not pickle
        sender.send(("crashed", None))
    finally:
        sender.close()
