"""Our own LRS for the benchmark: an embedded PostgreSQL in a fresh folder,
`lrs serve` on a loopback port against it, and one tenant with an all-scopes
credential per agency (admin=True: also an operator's credential with the
`admin` scope, for the admin API). The database URL is handed back too: the
raw insert baseline and the durability count need it. `lrs_process` is the
life cycle of one `lrs serve` (bench/read_bench.py and bench/write_bench.py
use it too)."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Served:
    origin: str
    database_url: str
    credentials: list[tuple[str, str]]
    pid: int  # `lrs serve`
    postgres_pid: int  # its postmaster
    log: Path  # its stdout and stderr
    tokens: list[str]  # per agency, a Bearer token of the LRS's own (with bearer=True)
    admin: tuple[str, str] | None  # key and secret with the `admin` scope (with admin=True)
    agencies: list[str]  # the tenants' names, in the order of `credentials`


def free_port() -> int:
    """A loopback port free now, for a server about to be started."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_summary(path: Path) -> str:
    """How many lines the server logged, and how many were warnings or
    errors (each one is a JSON object with a "level")."""
    levels: dict[str, int] = {}
    lines = 0
    with open(path, "rb") as log:
        for line in log:
            lines += 1
            try:
                level = json.loads(line).get("level", "other")
            except ValueError:
                level = "other"
            levels[level] = levels.get(level, 0) + 1
    return (f"{lines:,} lines, {levels.get('warning', 0)} warnings, "
            f"{levels.get('error', 0) + levels.get('critical', 0)} errors")


# The writer's group-commit series in /metrics (both workers' together:
# prometheus-client's multiprocess mode), by what they are.
_GROUP_COMMIT_SERIES = {
    "lrs_group_commit_statements_count": "groups",
    "lrs_group_commit_statements_sum": "statements",
    "lrs_group_commit_wait_seconds_count": "batches",
    "lrs_group_commit_wait_seconds_sum": "wait_seconds",
    'lrs_db_query_duration_seconds_count{query="statements.write"}': "calls",
    'lrs_db_query_duration_seconds_sum{query="statements.write"}': "call_seconds",
}


def group_commits(origin: str) -> dict[str, float]:
    """The LRS's group commits so far, from /metrics at `origin`: how many, the
    statements in them, the batches (requests) and the seconds they waited
    for their group to start, and the calls of lrs_write_statements and
    their seconds. Sent with LRS_METRICS_TOKEN when the environment sets
    one, as `lrs serve` then asks for it."""
    request = urllib.request.Request(origin + "/metrics")
    if os.environ.get("LRS_METRICS_TOKEN"):
        request.add_header("Authorization", f"Bearer {os.environ['LRS_METRICS_TOKEN']}")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    found = dict.fromkeys(_GROUP_COMMIT_SERIES.values(), 0.0)
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name in _GROUP_COMMIT_SERIES:
            found[_GROUP_COMMIT_SERIES[name]] = float(value)
    return found


def cpu_seconds(served: Served) -> dict[str, float]:
    """CPU time used so far by the LRS (serve and its workers) and by
    PostgreSQL, from /proc (Linux): what a statement costs each of them,
    which stays meaningful when other load shares the machine."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {"lrs": 0.0, "postgres": 0.0}
    children: dict[int, list[int]] = {}
    stats: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name, rest = (entry / "stat").read_text().rsplit(")", 1)
        except OSError:
            continue
        fields = rest.split()
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        # utime + stime, and cutime + cstime: what children that exited and
        # were reaped used (a backend of a closed connection is gone from
        # /proc, and its time is its parent's from then on).
        stats[pid] = (name.split("(", 1)[1], sum(int(x) for x in fields[11:15]) / tick)
    for kind, root in (("lrs", served.pid), ("postgres", served.postgres_pid)):
        todo = [root]
        while todo:  # the process and its children (workers, backends)
            pid = todo.pop()
            used[kind] += stats.get(pid, ("", 0.0))[1]
            todo += children.get(pid, [])
    return used


def _lrs(*args: str, env: dict, cwd: Path | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "lrs", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def _ready(origin: str) -> bool:
    try:
        with urllib.request.urlopen(f"{origin}/ready", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def lrs_process(command: list[str], env: dict[str, str], origin: str, *, seconds: float = 60,
                **popen: Any) -> Iterator[subprocess.Popen]:
    """`command` (an `lrs serve`) started and ready: `origin`/ready answers
    200 within `seconds`, or this fails (at once if the process exits).
    Stopped on the way out as an operator would: SIGTERM, SIGKILL after 60 s."""
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    proc = subprocess.Popen(command, env=env, **popen)
    try:
        deadline = time.monotonic() + seconds
        while not _ready(origin):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("lrs serve did not become ready")
            time.sleep(0.2)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def serving(data_dir: Path, *, port: int, workers: int, agencies: int,
            lrs_path: Path | None = None, bearer: bool = False,
            admin: bool = False, open_files: int | None = None) -> Iterator[Served]:
    """`lrs_path`: a checkout of another version of the LRS to run instead
    (a baseline): its commands run in that folder, which `python -m` puts
    first on sys.path (PYTHONPATH alone would lose to the working directory
    when the benchmark runs from this repository's root). `open_files`: the
    soft limit on open files `lrs serve` starts with (it may raise it)."""
    from lrs import embedded

    shutil.rmtree(data_dir, ignore_errors=True)
    with embedded.running(data_dir) as database_url:
        # The LRS as deployed: its default log level (one access line a
        # request) unless LRS_LOG_LEVEL says otherwise, written to a file.
        env = dict(os.environ, LRS_DATABASE_URL=database_url)
        cwd = None
        if lrs_path is not None:
            env["PYTHONPATH"] = str(lrs_path)
            cwd = lrs_path.resolve()
        _lrs("migrate", env=env, cwd=cwd)
        credentials, tokens = [], []
        names = [f"agency-{chr(ord('a') + i)}" for i in range(agencies)]
        for name in names:
            _lrs("tenant", "create", name, env=env, cwd=cwd)
            made = json.loads(_lrs("credential", "create", "--tenant", name, "--scope", "all",
                                   "--json", env=env, cwd=cwd))
            credentials.append((made["key"], made["secret"]))
            if bearer:
                tokens.append(_lrs("token", "issue", "--tenant", name, "--scope", "all",
                                   "--ttl", "86400", env=env, cwd=cwd).strip())
        operator = None
        if admin:
            _lrs("tenant", "create", "operators", env=env, cwd=cwd)
            made = json.loads(_lrs("credential", "create", "--tenant", "operators",
                                   "--scope", "admin", "--json", env=env, cwd=cwd))
            operator = (made["key"], made["secret"])
        origin = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "lrs", "serve", "--port", str(port),
                   "--workers", str(workers), "--no-migrate"]
        log = data_dir / "lrs.log"
        limit = {} if open_files is None else {"preexec_fn": lambda: resource.setrlimit(
            resource.RLIMIT_NOFILE, (open_files, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))}
        with open(log, "wb") as log_file, lrs_process(
                command, env, origin, cwd=cwd, stdout=log_file, stderr=subprocess.STDOUT,
                **limit) as proc:
            postmaster = int((data_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
            yield Served(origin, database_url, credentials, proc.pid, postmaster, log, tokens,
                         operator, names)
    shutil.rmtree(data_dir, ignore_errors=True)
