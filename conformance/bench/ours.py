"""Our own LRS for the benchmark: an embedded PostgreSQL in a fresh folder,
`lrs serve` on a loopback port against it, and one tenant with an all-scopes
credential per agency. The database URL is handed back too: the raw insert
baseline and the durability count need it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Served:
    origin: str
    database_url: str
    credentials: list[tuple[str, str]]
    pid: int


def _lrs(*args: str, env: dict) -> str:
    done = subprocess.run([sys.executable, "-m", "lrs", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    return done.stdout


def _ready(origin: str) -> bool:
    try:
        with urllib.request.urlopen(f"{origin}/ready", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def serving(data_dir: Path, *, port: int, workers: int, agencies: int,
            extra_env: dict[str, str] | None = None) -> Iterator[Served]:
    from lrs import embedded

    shutil.rmtree(data_dir, ignore_errors=True)
    with embedded.running(data_dir) as database_url:
        env = dict(os.environ, LRS_DATABASE_URL=database_url, LRS_LOG_LEVEL="warning",
                   **(extra_env or {}))
        _lrs("migrate", env=env)
        credentials = []
        for i in range(agencies):
            name = f"agency-{chr(ord('a') + i)}"
            _lrs("tenant", "create", name, env=env)
            made = json.loads(_lrs("credential", "create", "--tenant", name, "--scope", "all",
                                   "--json", env=env))
            credentials.append((made["key"], made["secret"]))
        proc = subprocess.Popen(
            [sys.executable, "-m", "lrs", "serve", "--port", str(port), "--workers", str(workers),
             "--no-migrate"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        origin = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while not _ready(origin):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("lrs serve did not become ready")
                time.sleep(0.2)
            yield Served(origin, database_url, credentials, proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    shutil.rmtree(data_dir, ignore_errors=True)
