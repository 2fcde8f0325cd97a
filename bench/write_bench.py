"""Measure POST /xapi/statements over HTTP: statements stored per second and
request latency, with many concurrent clients, as learning platforms send
them (one statement per learner action, or batches from a backfill).

    python bench/write_bench.py --data-dir /tmp/bench-write --seconds 20

Each scenario starts a fresh `lrs serve` on loopback (its own data folder
under --data-dir) with the given LRS_GROUP_COMMIT_MAX, runs C concurrent
clients (asyncio + httpx, one keep-alive connection each) posting batches
of B statements for --seconds, then checks that the LRS holds exactly the
statements it acknowledged (nothing lost, nothing doubled) and prints a
table. `--group-commit-max 1` is the baseline: one transaction per request.
Every run is bounded in time; nothing but 127.0.0.1 is contacted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

V2 = {"X-Experience-API-Version": "2.0.0"}

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root
from conformance.bench.ours import group_commits, lrs_process  # noqa: E402 (after the path above)


@contextlib.contextmanager
def serving(data_dir: Path, port: int, group_commit_max: int, workers: int) -> Iterator[tuple[str, tuple[str, str]]]:
    shutil.rmtree(data_dir, ignore_errors=True)
    env = dict(os.environ, LRS_LOG_LEVEL="warning", LRS_GROUP_COMMIT_MAX=str(group_commit_max))
    env.pop("LRS_DATABASE_URL", None)
    command = [str(Path(sys.executable).with_name("lrs")), "serve", "--data-dir", str(data_dir),
               "--port", str(port), "--workers", str(workers)]
    url = f"http://127.0.0.1:{port}"
    try:
        with lrs_process(command, env, url, stdout=subprocess.PIPE, text=True) as proc:
            key = secret = None
            for line in proc.stdout:  # the first start printed the credential
                if line.strip().startswith("key:"):
                    key = line.split()[-1]
                if line.strip().startswith("secret:"):
                    secret = line.split()[-1]
                if key and secret:
                    break
            yield url, (key, secret)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def statement(run: str, client: int, n: int) -> dict:
    return {
        "actor": {"objectType": "Agent", "name": f"Learner {client}-{n % 100}",
                  "account": {"homePage": "https://moodle.agency.example", "name": f"u{client}-{n % 100}"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"en-US": "experienced"}},
        "object": {"objectType": "Activity", "id": f"https://moodle.agency.example/mod/page/{n % 500}",
                   "definition": {"name": {"en-US": f"Page {n % 500}"},
                                  "type": "http://adlnet.gov/expapi/activities/lesson"}},
        "context": {"registration": run,
                    "contextActivities": {"parent": [{"id": "https://moodle.agency.example/course/7"}],
                                          "grouping": [{"id": "https://moodle.agency.example/programme/2"}]},
                    "platform": "Moodle"},
        "result": {"completion": True, "duration": "PT1M3S"},
        "timestamp": "2026-11-28T10:00:00.000Z",
    }


async def load(url: str, auth: tuple[str, str], clients: int, batch: int, seconds: float,
               run: str) -> tuple[list[float], int, int]:
    latencies: list[float] = []
    stored = errors = 0
    deadline = time.monotonic() + seconds

    async def client(c: int) -> None:
        nonlocal stored, errors
        n = 0
        async with httpx.AsyncClient(base_url=url, auth=auth, headers=V2, timeout=60) as http:
            while time.monotonic() < deadline:
                body = [statement(run, c, n + i) for i in range(batch)]
                started = time.perf_counter()
                response = await http.post("/xapi/statements", json=body if batch > 1 else body[0])
                latencies.append(time.perf_counter() - started)
                if response.status_code == 200:
                    stored += batch
                else:
                    errors += 1
                n += batch

    await asyncio.gather(*(client(c) for c in range(clients)))
    return latencies, stored, errors


def count(url: str, auth: tuple[str, str], run: str) -> int:
    total, ids = 0, set()
    with httpx.Client(base_url=url, auth=auth, headers=V2, timeout=60) as http:
        page = http.get("/xapi/statements", params={"registration": run, "limit": 0}).json()
        while True:
            for s in page["statements"]:
                ids.add(s["id"])
                total += 1
            if not page["more"]:
                break
            page = http.get(page["more"]).json()
    assert total == len(ids), "a statement was listed twice"
    return total


def group_commit_mean(url: str) -> float:
    commits = group_commits(url)
    return commits["statements"] / commits["groups"] if commits["groups"] else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="/tmp/bench-write")
    parser.add_argument("--port", type=int, default=8320)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--scenarios", default="1x1,32x1,8x50",
                        help="CLIENTSxBATCH, comma-separated")
    parser.add_argument("--group-commit", default="1,5000",
                        help="LRS_GROUP_COMMIT_MAX values to compare, comma-separated")
    args = parser.parse_args()

    rows = []
    for group_max in [int(g) for g in args.group_commit.split(",")]:
        for scenario in args.scenarios.split(","):
            clients, batch = (int(x) for x in scenario.split("x"))
            run = str(uuid.uuid4())
            with serving(Path(args.data_dir), args.port, group_max, args.workers) as (url, auth):
                started = time.monotonic()
                latencies, acked, errors = asyncio.run(
                    load(url, auth, clients, batch, args.seconds, run))
                elapsed = time.monotonic() - started
                held = count(url, auth, run)
                mean_group = group_commit_mean(url) if args.workers == 1 else float("nan")
            latencies.sort()
            rows.append((group_max, clients, batch, acked / elapsed, len(latencies) / elapsed,
                         statistics.median(latencies) * 1000,
                         latencies[int(len(latencies) * 0.95) - 1] * 1000,
                         mean_group, errors, acked, held))
            print(f"done: group_commit_max={group_max} {clients}x{batch}", file=sys.stderr)

    load_avg = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nPOST /xapi/statements for {args.seconds:.0f} s per scenario, {args.workers} worker(s), "
          f"nproc {os.cpu_count()}, load average after {load_avg}\n")
    print("| group commit max | clients | statements/request | statements/s | requests/s "
          "| p50 ms | p95 ms | statements/transaction | errors | acknowledged | held |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:,.0f} | {r[4]:,.0f} | {r[5]:.1f} | {r[6]:.1f} "
              f"| {r[7]:.1f} | {r[8]} | {r[9]:,} | {r[10]:,} |")
    lost = [r for r in rows if r[9] != r[10]]
    if lost:
        raise SystemExit(f"acknowledged and held differ: {lost}")


if __name__ == "__main__":
    main()
