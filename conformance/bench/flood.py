"""The flood scenario (`--scenarios flood`): one agency floods the LRS while
another goes on with its ordinary traffic.

The first agency posts 1,000-statement batches from 128 connections, far more
than the LRS can take at once; the second sends single statements from 2
connections at the same time. What a shared LRS owes its other tenants shows
in the second agency's latency; whether the flood is taken in at the LRS's
best rate or makes it thrash, in the first agency's rate; what the flood
costs in memory, in the LRS's peak resident size (ours only: /proc).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from conformance.bench import workload, wrk

FLOOD = (128, 1000)  # connections, statements a request
OTHERS = (2, 1)
# A flood request may be made to wait (for ours, LRS_WRITE_BACKLOG_WAIT_SECONDS,
# 10 s by default) before it is taken in or refused: not a client timeout.
CLIENT_TIMEOUT_S = 60

HEADER = ["| agency | connections | statements a request | statements/s | requests/s | p50 ms "
          "| p99 ms | max ms | not 2xx |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]


class _PeakMemory(threading.Thread):
    """The largest resident size of process `pid` and its children (the
    workers of `lrs serve --workers N`) seen, sampled every 0.2 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_mb, self.start_mb = pid, 0, None
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.2):
            try:
                children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
                rss = sum(_resident_mb(pid) for pid in [self.pid, *map(int, children.split())])
            except OSError:
                return
            self.start_mb = rss if self.start_mb is None else self.start_mb
            self.peak_mb = max(self.peak_mb, rss)

    def stop(self) -> None:
        self._done.set()
        self.join()


def _resident_mb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) // 1024 for line in status.splitlines()
                if line.startswith("VmRSS:"))


def run(args, origin: str, xapi_path: str, loads: list[workload.AgencyLoad], work: Path,
        lrs_pid: int | None, held: Callable[[], int] | None) -> list[str]:
    """The flood table. Needs two agencies. `held`: the statements the LRS's
    database holds (ours), to check that every acknowledged one is there."""
    if len(loads) < 2:
        return ["", "flood: needs two agencies (--agencies 2 or more, or two credentials)"]
    flood_file, others_file = work / "flood.tsv", work / "flood-others.tsv"
    workload.write_requests(flood_file, loads[:1], FLOOD[1], xapi_path, args.seed)
    workload.write_requests(others_file, loads[1:2], OTHERS[1], xapi_path, args.seed)
    print(f"flood: {loads[0].name} {FLOOD[1]:,}-statement POSTs from {FLOOD[0]} connections, "
          f"{loads[1].name} single statements from {OTHERS[0]}, {args.seconds} s ...", flush=True)
    before = held() if held else 0
    memory = _PeakMemory(lrs_pid) if lrs_pid else None
    if memory:
        memory.start()
    results: dict[str, wrk.WrkResult] = {}

    def flood() -> None:
        results["flood"] = wrk.run(origin, flood_file, connections=FLOOD[0],
                                   seconds=args.seconds, seed=args.seed,
                                   timeout_s=CLIENT_TIMEOUT_S, xapi_version=args.xapi_version)

    flooding = threading.Thread(target=flood)
    flooding.start()
    time.sleep(1)  # the others' traffic starts once the flood is on
    others = wrk.run(origin, others_file, connections=OTHERS[0], threads=1,
                     seconds=max(1.0, args.seconds - 2), seed=args.seed,
                     timeout_s=CLIENT_TIMEOUT_S, xapi_version=args.xapi_version)
    flooding.join()
    if memory:
        memory.stop()
    if held:
        acknowledged = results["flood"].ok * FLOOD[1] + others.ok * OTHERS[1]
        stored = held() - before
        # Requests in flight at the deadline may be stored unanswered, never the reverse.
        verdict = "ok" if stored >= acknowledged else "LOST STATEMENTS"
        print(f"    durability: acknowledged {acknowledged:,}, held {stored:,} ({verdict})",
              flush=True)
    lines = ["", f"One agency floods, another carries on ({args.seconds} s):", "", *HEADER]
    for load, (connections, per_request), result in ((loads[0], FLOOD, results["flood"]),
                                                     (loads[1], OTHERS, others)):
        lines.append(
            f"| {load.name} | {connections} | {per_request:,} | "
            f"{result.ok * per_request / result.seconds:,.0f} | "
            f"{result.requests / result.seconds:,.1f} | {result.p50_ms:,.1f} | "
            f"{result.p99_ms:,.1f} | {result.max_ms:,.1f} | {result.failed:,} "
            f"{wrk.failures(result)}|")
        print("    " + lines[-1], flush=True)
    if memory:
        lines.append("")
        lines.append(f"The LRS's resident memory: {memory.start_mb} MB when the flood began, "
                     f"{memory.peak_mb} MB at most during it.")
    return lines
