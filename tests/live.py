"""Helpers for tests that run `lrs serve` as a separate process, as an
operator would: a free loopback port, the command, and bounded waits."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(*args: str, env: dict[str, str], **popen: Any) -> subprocess.Popen:
    """`lrs serve ARGS` in a new process (stdout/stderr to DEVNULL unless given)."""
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen([sys.executable, "-m", "lrs", "serve", *args], env=env, **popen)


def wait_until(predicate: Callable[[], Any], seconds: float, what: str) -> Any:
    """Poll `predicate` until it returns something true; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def wait_ready(url: str, proc: subprocess.Popen, seconds: float) -> float:
    """Seconds until `url`/ready answers 200; fails if the process exits."""
    started = time.monotonic()

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"lrs serve exited with {proc.returncode}")
        return httpx.get(f"{url}/ready", timeout=1).status_code == 200

    wait_until(ready, seconds, "lrs serve to be ready")
    return time.monotonic() - started
