"""Durability and faults: the LRS killed in the middle of a write load, and its
database stopped for ten seconds under load.

Still black box: the suite only starts and stops things through shell commands
that the operator gives (README.md), run with a time bound:

  LRS_CONF_LRS_KILL   SIGKILL the LRS; returns once it is gone
  LRS_CONF_LRS_START  start it again; may return at once (the test waits for the URL)
  LRS_CONF_DB_STOP    stop the LRS's database; returns once it is down
  LRS_CONF_DB_START   start it again; returns once it accepts connections

Without them these tests skip, naming the variable they need.

What is checked is what a client relies on: a 2xx answer means stored, whatever
happens next (STPOST-01, STPUT-01); a batch is all or nothing even when it gets
no answer (STPOST-07, ERR-04); a database that is down is a fast 503 — the
status that fits (ERR-01, RFC 9110 15.6.4: "temporarily unable", retry) —
never a 500 and never a hang; and the LRS serves again, by itself, soon after
the database is back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

import httpx
import pytest

from conformance.lib import XAPI, Config, Factory, new_id

pytestmark = [pytest.mark.faults]

KILL, START = "LRS_CONF_LRS_KILL", "LRS_CONF_LRS_START"
DB_STOP, DB_START = "LRS_CONF_DB_STOP", "LRS_CONF_DB_START"
# The slowest answer allowed while the database is down: the LRS's own
# database timeout plus a margin. Default: this project's LRS_DB_TIMEOUT (5 s) + 1.
OUTAGE_LATENCY = float(os.environ.get("LRS_CONF_OUTAGE_LATENCY", "6"))
OUTAGE = 10.0          # seconds the database stays down
RECOVERY = 2.0         # seconds after the database is back within which a write must work
COMMAND_BOUND = 120.0  # seconds any one shell command may take
RESTART_BOUND = 60.0   # seconds the LRS may take to answer again after LRS_CONF_LRS_START


def _command(name: str) -> str:
    command = os.environ.get(name, "").strip()
    if not command:
        pytest.skip(f"{name} is not set: this scenario needs a shell command for it "
                    "(see conformance/README.md, 'Fault scenarios')")
    return command


def _run(command: str) -> float:
    """Run a shell command, bounded in time; return the seconds it took.
    Its output goes to a file, not a pipe: a command that starts a server in
    the background must not keep us waiting for the pipe to close."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(command, shell=True, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = proc.wait(timeout=COMMAND_BOUND)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise AssertionError(f"{command!r} did not finish within {COMMAND_BOUND:.0f} s") from None
        out.seek(0)
        assert code == 0, f"{command!r} exited with {code}: {out.read()[-2000:].decode(errors='replace')}"
    return time.monotonic() - started


def _wait_answering(cfg: Config) -> float:
    """Seconds until the LRS answers GET about again (bounded)."""
    started = time.monotonic()
    while time.monotonic() - started < RESTART_BOUND:
        try:
            if httpx.get(cfg.url + "about", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the LRS did not answer within {RESTART_BOUND:.0f} s of being started")


@dataclass
class Call:
    kind: str
    ids: list[str]        # the statements a write carried
    started: float
    elapsed: float
    status: int | None    # None: no HTTP answer (refused, dropped, timed out)
    ok: bool              # answered with the kind's success status


@dataclass
class Log:
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, kind: str, ids: list[str], success: int, request, *args, **kw) -> Call:
        """`request(*args, **kw)`, timed and logged."""
        started = time.monotonic()
        try:
            status = request(*args, **kw).status_code
        except httpx.TransportError:
            status = None
        call = Call(kind, ids, started, time.monotonic() - started, status, status == success)
        with self.lock:
            self.calls.append(call)
        return call


def _clients(n: int, body) -> tuple[threading.Event, list[threading.Thread]]:
    stop = threading.Event()
    threads = [threading.Thread(target=body, args=(i, stop), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    return stop, threads


def _join(stop: threading.Event, threads: list[threading.Thread], seconds: float) -> None:
    stop.set()
    deadline = time.monotonic() + seconds
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), f"clients still running after {seconds:.0f} s"


def _check_stored(cfg: Config, version: str, registration: str, calls: list[Call]) -> dict:
    """Every write answered 2xx is there (by id and in the registration), once;
    every other write is there whole or not at all; nothing else is there."""
    acked = {i for c in calls if c.ok for i in c.ids}
    sent = {i for c in calls for i in c.ids}
    with XAPI(cfg, version) as lrs:
        listed = lrs.wait_for_count({"registration": registration}, len(acked), timeout=30)
        missing_by_id = [i for i in sorted(acked) if lrs.get_statement(i).status_code != 200]
    stored = set(listed)
    assert len(listed) == len(stored), f"{len(listed) - len(stored)} statement(s) listed twice"
    assert not missing_by_id, (f"{len(missing_by_id)} of {len(acked)} statements answered 2xx "
                               f"are not there by id, e.g. {missing_by_id[:3]}")
    assert acked <= stored, f"{len(acked - stored)} statements answered 2xx are not listed"
    assert stored <= sent, f"{len(stored - sent)} statements stored that nobody sent"
    partial = [c for c in calls if not c.ok and 0 < len(stored.intersection(c.ids)) < len(c.ids)]
    assert not partial, (f"{len(partial)} unanswered or failed batch(es) stored in part, e.g. "
                         f"{len(stored.intersection(partial[0].ids))} of {len(partial[0].ids)}")
    failed = [c for c in calls if c.ids and not c.ok]
    return {"answered 2xx": len(acked), "found": len(stored),
            "writes not answered 2xx": len(failed),
            "of them stored whole": sum(1 for c in failed if stored.issuperset(c.ids))}


@pytest.mark.timeout(240)
def test_stpost_01_07_sigkill_mid_write_loses_nothing_answered(cfg: Config, f: Factory):
    """6 clients post batches of 10, single statements and PUTs (all with ids) until
    the LRS is SIGKILLed. After a restart every statement answered 2xx is there, and
    every unanswered batch is there whole or not at all."""
    kill, start = _command(KILL), _command(START)
    version, registration = cfg.versions[-1], new_id()
    log = Log()

    def client(i: int, stop: threading.Event) -> None:
        with XAPI(cfg, version, timeout=30) as lrs:
            for n in range(10_000):
                if stop.is_set():
                    return
                kind = ("batch", "post", "put")[(i + n) % 3]
                batch = [f.statement(registration=registration)
                         for _ in range(10 if kind == "batch" else 1)]
                ids = [s["id"] for s in batch]
                if kind == "put":
                    call = log.send(kind, ids, 204, lrs.put_statement, batch[0])
                else:
                    call = log.send(kind, ids, 200, lrs.post_statements,
                                    batch if kind == "batch" else batch[0])
                if call.status is None:
                    return  # the LRS is gone

    stop, threads = _clients(6, client)
    deadline = time.monotonic() + 10
    while sum(c.ok for c in log.calls) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # well into the load: requests in flight at every moment
    killed = False
    try:
        _run(kill)
        killed = True
        _join(stop, threads, 40)
    finally:
        if killed:
            _run(start)
            restart = _wait_answering(cfg)
    calls = list(log.calls)
    wrong = sorted({f"{c.kind} -> {c.status}" for c in calls if c.status is not None and not c.ok})
    assert not wrong, f"answers other than success before the kill: {wrong}"
    assert sum(c.ok for c in calls) >= 30, "too few writes were answered before the kill to tell"
    numbers = _check_stored(cfg, version, registration, calls)
    print(f"\nSIGKILL mid-write: {numbers}; answering again {restart:.1f} s after the start command")


@pytest.mark.timeout(240)
def test_err_01_database_down_fast_503_then_serves_again(cfg: Config, f: Factory):
    """4 clients write (batches, single PUTs), read (by id, by registration) and use a
    State document while the database is stopped for ten seconds: every answer is the
    request's success or 503, none takes longer than LRS_CONF_OUTAGE_LATENCY, none is
    missing; within two seconds of the database being back a write succeeds and is
    readable, with no restart of the LRS; nothing answered 2xx is lost."""
    stop_db, start_db = _command(DB_STOP), _command(DB_START)
    version, registration = cfg.versions[-1], new_id()
    seed = f.statement(registration=registration)
    state = {"activityId": f.activity_id("outage"), "agent": json.dumps(f.agent("outage")),
             "stateId": "outage"}
    with XAPI(cfg, version) as lrs:
        lrs.store([seed])
        assert lrs.put("activities/state", params=state, json_body={"n": 0}).status_code == 204
        assert lrs.wait_for_statement(seed["id"]).status_code == 200
    log = Log()
    log.calls.append(Call("seed", [seed["id"]], 0, 0, 200, True))

    def client(i: int, stop: threading.Event) -> None:
        with XAPI(cfg, version, timeout=OUTAGE_LATENCY + 10) as lrs:
            for n in range(100_000):
                if stop.is_set():
                    return
                kind = ("batch", "put", "get", "query", "state-post", "state-get")[(i + n) % 6]
                if kind in ("batch", "put"):
                    batch = [f.statement(registration=registration)
                             for _ in range(5 if kind == "batch" else 1)]
                    if kind == "batch":
                        log.send(kind, [s["id"] for s in batch], 200, lrs.post_statements, batch)
                    else:
                        log.send(kind, [batch[0]["id"]], 204, lrs.put_statement, batch[0])
                elif kind == "get":
                    log.send(kind, [], 200, lrs.get_statement, seed["id"])
                elif kind == "query":
                    log.send(kind, [], 200, lrs.get, "statements",
                             params={"registration": registration, "limit": 20})
                elif kind == "state-post":  # a JSON merge: no precondition needed (DOC-10)
                    log.send(kind, [], 204, lrs.post, "activities/state", params=state,
                             json_body={"n": n})
                else:
                    log.send(kind, [], 200, lrs.get, "activities/state", params=state)
                time.sleep(0.02)  # bounded request count: about 200 a second in all

    stop, threads = _clients(4, client)
    down = back = recovered = None
    try:
        time.sleep(1.0)
        _run(stop_db)
        down = time.monotonic()
        time.sleep(max(0.0, down + OUTAGE - time.monotonic()))
        restarting = time.monotonic()
        _run(start_db)
        back = time.monotonic()
        recovered = _probe_write(cfg, version, f, registration, log)
        time.sleep(1.0)  # the load goes on with the database back
    finally:
        if down is not None and back is None:
            _run(start_db)
        _join(stop, threads, OUTAGE_LATENCY + 20)

    calls = [c for c in log.calls if c.kind != "seed"]
    unanswered = [c for c in calls if c.status is None]
    assert not unanswered, (f"{len(unanswered)} request(s) got no HTTP answer, e.g. "
                            f"{unanswered[0].kind} after {unanswered[0].elapsed:.1f} s")
    wrong = sorted({f"{c.kind} -> {c.status}" for c in calls if not c.ok and c.status != 503})
    assert not wrong, f"answers other than success or 503: {wrong}"
    during = [c for c in calls if c.started >= down and c.started + c.elapsed <= restarting]
    assert any(c.status == 503 for c in during), \
        "no request during the outage got 503: did LRS_CONF_DB_STOP stop the LRS's database?"
    worst = max(calls, key=lambda c: c.elapsed)
    assert worst.elapsed < OUTAGE_LATENCY, \
        f"{worst.kind} took {worst.elapsed:.2f} s (bound {OUTAGE_LATENCY} s): a hang, not a fast 503"
    assert recovered is not None and recovered - back < RECOVERY, (
        f"no write succeeded and was readable within {RECOVERY} s of the database being back"
        + (f" (took {recovered - back:.2f} s)" if recovered else ""))
    numbers = _check_stored(cfg, version, registration, log.calls)
    outage_503 = sum(c.status == 503 for c in during)
    print(f"\ndatabase down {OUTAGE:.0f} s: {len(calls)} requests, {outage_503}/{len(during)} "
          f"during the outage answered 503, worst latency {worst.elapsed * 1000:.0f} ms "
          f"({worst.kind}), write readable {recovered - back:.2f} s after the database was back; "
          f"{numbers}")


def _probe_write(cfg: Config, version: str, f: Factory, registration: str, log: Log) -> float | None:
    """When (monotonic) a fresh statement was first stored and readable; None if
    not within RECOVERY + 5 s."""
    deadline = time.monotonic() + RECOVERY + 5
    with XAPI(cfg, version, timeout=OUTAGE_LATENCY + 10) as lrs:
        while time.monotonic() < deadline:
            s = f.statement(registration=registration)
            if log.send("probe", [s["id"]], 204, lrs.put_statement, s).ok:
                # An LRS may answer before the statement is readable (STPUT-06).
                while time.monotonic() < deadline:
                    if log.send("probe-get", [], 200, lrs.get_statement, s["id"]).ok:
                        return time.monotonic()
                    time.sleep(0.05)
            time.sleep(0.05)
    return None
