"""Helpers for tests that run `lrs serve` as a separate process, as an
operator would: a free loopback port, the command, bounded waits, the
black-box conformance suite pointed at it, and the Debian packages some
tests drive (Prometheus, PgBouncer), installed when missing."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.bench.ours import free_port, lrs_process


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


def serve_env(**settings: str) -> dict[str, str]:
    """The environment for `lrs serve`: the test process's, without its
    LRS_* variables (so the LRS's shipped settings hold, but `settings`:
    LRS_<NAME> values) and without PROMETHEUS_MULTIPROC_DIR (lrs serve makes
    its own for several workers)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LRS_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update({f"LRS_{name.upper()}": value for name, value in settings.items()})
    return env


@contextlib.contextmanager
def served(*args: str, env: dict[str, str], seconds: float = 60, port: int | None = None,
           **popen: Any) -> Iterator[tuple[str, subprocess.Popen]]:
    """`lrs serve --port P ARGS` (P free, unless given), ready; its URL and
    process. Stopped on the way out as an operator would (the benchmark's
    lrs_process): SIGTERM, and it must exit by itself within 60 s."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "lrs", "serve", "--port", str(port), *args]
    with lrs_process(command, env, url, seconds=seconds, **popen) as proc:
        yield url, proc
    assert proc.returncode != -signal.SIGKILL, "lrs serve did not stop on SIGTERM within 60 s"


# The 10,000 malformed requests go to the suite's first run
# (tests/test_conformance.py, a server in the test process). They are refused
# before any query, by the same code in every process, so the runs against
# other shapes of deployment (two workers, PgBouncer) send fewer: 10,000 took
# 26 s of a run on a slow machine, where the CI run took 15 minutes.
MALFORMED = 10_000
MALFORMED_ELSEWHERE = 2_000


def run_conformance_suite(url: str, credentials: dict[str, str], *, max_batch: int,
                          max_body: int, malformed: int = MALFORMED) -> str:
    """`pytest conformance` (but the fault scenarios, which start an LRS of
    their own) against the LRS at `url`, with `malformed` generated
    malformed requests; fails unless everything passed and nothing was
    skipped. Returns pytest's last line."""
    env = {**{k: v for k, v in os.environ.items()
              if not k.startswith(("LRS_KEY", "LRS_SECRET", "LRS_TOKEN"))},
           "LRS_URL": f"{url}/xapi/", **credentials,
           "LRS_CONF_MAX_BATCH": str(max_batch), "LRS_CONF_MAX_BODY": str(max_body),
           "LRS_CONF_MALFORMED": str(malformed)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider",
         "-x", "--no-header", "-m", "not faults"],
        cwd=Path(__file__).resolve().parents[1], env=env, capture_output=True, text=True,
        timeout=600)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    # Every credential and both versions are given, so nothing may be skipped.
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary, summary
    return summary


def logged_errors(log: Path) -> list[str]:
    """The lines an LRS logged at level error (its log is JSON lines)."""
    return [line for line in log.read_text().splitlines() if '"level":"error"' in line]


@contextlib.contextmanager
def one_at_a_time(name: str) -> Iterator[None]:
    """Held by one process of the machine at a time: the test run's workers
    (pytest -n) would otherwise install the same things together, and apt
    or npm would fail on each other's locks or half-written files."""
    # The user's id in the name: another user's file could not be opened.
    path = Path(tempfile.gettempdir()) / f"lrs-tests-{name}-{os.getuid()}.lock"
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        yield


# For a test that may install a Debian package first (ensure_debian_package),
# after waiting for another worker's install: apt's own bounds, not the
# default 120 s.
MAY_INSTALL = pytest.mark.timeout(600)


def ensure_debian_package(package: str, *programs: str) -> None:
    """Install Debian's `package` unless `programs` are on PATH already (CI
    machines start fresh; installing needs root and apt)."""
    with one_at_a_time("apt"):  # another worker may be installing it
        if all(shutil.which(p) for p in programs):
            return
        apt = shutil.which("apt-get")
        assert apt and os.geteuid() == 0, f"{package} is missing and cannot be installed here"
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([apt, "update", "-qq"], check=True, env=env, timeout=300,
                       capture_output=True)
        subprocess.run([apt, "install", "-y", "-qq", "--no-install-recommends", package],
                       check=True, env=env, timeout=600, capture_output=True)


def workers_of(pid: int) -> list[int]:
    """The worker processes of `lrs serve --workers N` running as `pid`
    (uvicorn's, spawned by multiprocessing), by pid."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = []
    for child in (children.read_text().split() if children.exists() else []):
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
    return sorted(found)


def metric_total(url: str, name: str, **labels: str) -> float:
    """The sum of metric `name`'s lines in GET {url}/metrics that carry every
    label given (one line a worker, with several)."""
    total = 0.0
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total
