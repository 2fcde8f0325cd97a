"""The conformance suite's fault scenarios (conformance/test_faults.py) against
our LRS as an operator runs it: `lrs serve` as a process on a PostgreSQL
cluster of its own, killed, stopped and started by tests/fault_harness.py,
whose subcommands are the suite's LRS_CONF_* commands."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lrs import config
from tests import live
from tests.fault_harness import Harness, alive

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def harness() -> Iterator[Harness]:
    with Harness.temporary() as harness:
        yield harness


@pytest.mark.timeout(300)
@pytest.mark.long_running
def test_fault_scenarios_pass_against_this_lrs(harness: Harness):
    _run_fault_scenarios(harness, workers=1, selected=[], passed=2)


@pytest.mark.timeout(300)
@pytest.mark.long_running
def test_sigkill_of_lrs_serve_with_two_workers_loses_nothing_answered(harness: Harness):
    """`lrs serve --workers 2` killed mid-write by its main process alone
    (`kill -9 PID`, the OOM killer): its workers stop by themselves, the
    restart binds the port again, and every answered statement is there."""
    _run_fault_scenarios(harness, workers=2, selected=["-k", "sigkill"], passed=1)


@pytest.mark.timeout(180)
@pytest.mark.long_running
def test_a_worker_lost_while_the_database_is_down_does_not_stop_the_lrs(harness: Harness):
    """uvicorn starts a worker in place of one that died, and stops the whole
    server when that start fails: a worker killed during an outage (the OOM
    killer) must start all the same, and the LRS serve again once the
    database is back, without a restart."""
    state = harness.setup(2)
    subprocess.run(harness.commands()["start-lrs"], shell=True, check=True, timeout=60)
    statements = state["url"] + "statements"
    auth = (state["key"], state["secret"])
    headers = {"X-Experience-API-Version": "1.0.3"}

    def post() -> int:
        statement = {"actor": {"mbox": "mailto:outage@example.com"},
                     "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
                     "object": {"id": "http://example.com/outage"}}
        return httpx.post(statements, json=statement, auth=auth, headers=headers,
                          timeout=10).status_code

    live.wait_until(lambda: post() == 200, 30, "lrs serve to store a statement")
    main = harness.state()["lrs_pid"]
    workers = live.workers_of(main)
    assert len(workers) == 2, workers
    harness.stop_db()
    os.kill(workers[0], signal.SIGKILL)
    live.wait_until(lambda: len(set(live.workers_of(main)) - set(workers)) == 1, 30,
                    "a worker in place of the one killed")
    log = harness.dir / "lrs.log"
    live.wait_until(lambda: not alive(main) or "starts without connections"
                    in log.read_text(errors="replace"), 60, "the new worker to try the database")
    time.sleep(1)  # uvicorn checks its workers every 0.5 s
    assert alive(main), f"lrs serve stopped\n{_logs(harness)}"
    assert post() == 503
    harness.start_db()
    live.wait_until(lambda: post() == 200, 30, "a statement stored after the outage")
    assert "failed to start" not in log.read_text(errors="replace")


def _run_fault_scenarios(harness: Harness, *, workers: int, selected: list[str],
                         passed: int) -> None:
    state = harness.setup(workers)
    commands = harness.commands()
    # By its command, as the suite does: the server must outlive the process that started it.
    subprocess.run(commands["start-lrs"], shell=True, check=True, timeout=60)
    try:
        live.wait_until(lambda: httpx.get(state["url"] + "about", timeout=1).status_code == 200,
                        30, "lrs serve to answer")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_logs(harness)}") from None
    # What our LRS promises while its database is down: an answer within
    # LRS_DB_TIMEOUT (the default, which the harness keeps), plus a margin.
    latency = config.Settings().db_timeout + 1
    result = subprocess.run(
        [sys.executable, "-m", "conformance", "--url", state["url"],
         # "=": a secret may begin with "-" (base64url), which argparse
         # would take for an option after a separate "--secret".
         f"--key={state['key']}", f"--secret={state['secret']}",
         "--lrs-kill", commands["kill-lrs"], "--lrs-start", commands["start-lrs"],
         "--db-stop", commands["stop-db"], "--db-start", commands["start-db"],
         "--outage-latency", str(latency), "-m", "faults", *selected, "-s", "--no-header"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=240)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:] + _logs(harness)
    # Every command is given: nothing may be skipped.
    assert f"{passed} passed" in summary and "skipped" not in summary \
        and "failed" not in summary, summary
    # The measured numbers, for `pytest -rP`.
    print("\n".join(line for line in result.stdout.splitlines()
                    if line.startswith(("SIGKILL", "database down"))))


def _logs(harness: Harness) -> str:
    """The ends of the server logs, for a failure's message."""
    tails = []
    for log in (harness.dir / "lrs.log", harness.pgdata / "postgres.log"):
        text = log.read_text(errors="replace") if log.exists() else "(none)"
        tails.append(f"--- {log.name}:\n{text[-3000:]}")
    return "\n".join(tails)
