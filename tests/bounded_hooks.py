"""Functions the bounded-reading tests run in the child process (pickled by name, so they live
in a module of their own that imports nothing slow)."""

from __future__ import annotations

import os
import resource
import time


def pid() -> int:
    return os.getpid()


def limits_in_force() -> dict[str, tuple[int, int]]:
    return {
        "cpu": resource.getrlimit(resource.RLIMIT_CPU),
        "address_space": resource.getrlimit(resource.RLIMIT_AS),
        "core": resource.getrlimit(resource.RLIMIT_CORE),
    }


def allocate(megabytes: int) -> int:
    """Really touch the memory (not only reserve it), and say how much was had."""
    block = bytearray(megabytes * 1024 * 1024)
    block[::4096] = b"\x01" * len(block[::4096])
    return len(block) // (1024 * 1024)


def spin() -> None:
    while True:
        pass


def sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "woke up"


def refuse(message: str) -> None:
    raise ValueError(message)
