"""Measure GET /xapi/statements over HTTP: latency per filter kind, and the
rate of paging through statements by following `more`.

    python bench/read_bench.py --data-dir /tmp/bench-lrs          # starts `lrs serve`
    python bench/read_bench.py --url http://127.0.0.1:8300 --manifest M.json

Requests are sequential on one keep-alive connection (httpx), so each figure
is the latency of one request end to end: auth, query, response. Each kind
gets --requests requests (after --warmup unmeasured ones) or --seconds,
whichever ends first. Parameters are drawn from the manifest that
bench/generate.py wrote (seeded: reruns ask the same questions)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root
from conformance.bench.ours import lrs_process

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workload


@contextlib.contextmanager
def serving(data_dir: str, port: int, reader: str | None = None) -> Iterator[str]:
    """`lrs serve` on loopback, stopped (SIGTERM) on the way out; with
    `reader`, using that statement_reader.py's page queries."""
    env = dict(os.environ, LRS_LOG_LEVEL="warning")
    serve = ["serve", "--data-dir", data_dir, "--host", "127.0.0.1", "--port", str(port)]
    if reader:
        command = [sys.executable, str(Path(__file__).with_name("serve_with_reader.py")),
                   reader, *serve]
    else:
        command = [str(Path(sys.executable).with_name("lrs")), *serve]
    url = f"http://127.0.0.1:{port}"
    with lrs_process(command, env, url, stderr=None):
        yield url


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def latency(client: httpx.Client, tenant: dict, kind: str, args: argparse.Namespace) -> dict:
    rng = random.Random(f"{args.seed}:{kind}")
    make = workload.KINDS[kind]
    times: list[float] = []
    returned: list[int] = []
    for i in range(args.warmup + args.requests):
        params = {**make(tenant, rng), "limit": str(args.limit)}
        started = time.perf_counter()
        response = client.get("/xapi/statements", params=params)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{kind}: {response.status_code} {response.text[:300]}")
        if i >= args.warmup:
            times.append(elapsed * 1000)
            returned.append(response.content.count(b'"verb":'))
            if sum(times) > args.seconds * 1000:
                break
    return {"kind": kind, "n": len(times), "p50": _pct(times, 50), "p95": _pct(times, 95),
            "p99": _pct(times, 99), "max": max(times), "mean": statistics.fmean(times),
            "rows": statistics.fmean(returned), "target": workload.TARGETS.get(kind)}


def paging(client: httpx.Client, limit: int, total: int, seconds: float,
           params: dict | None = None) -> dict:
    """Follow `more` from the newest statement until `total` are read."""
    read = pages = 0
    started = time.perf_counter()
    response = client.get("/xapi/statements", params={**(params or {}), "limit": str(limit)})
    while True:
        response.raise_for_status()
        body = orjson.loads(response.content)
        read += len(body["statements"])
        pages += 1
        if read >= total or not body["more"] or time.perf_counter() - started > seconds:
            break
        response = client.get(body["more"])
    elapsed = time.perf_counter() - started
    return {"limit": limit, "filter": " ".join(sorted(params or {})) or "(none)",
            "statements": read, "pages": pages, "seconds": elapsed, "rate": read / elapsed}


def _server_side(client: httpx.Client) -> None:
    """Where the server's time went in the requests above, from its own
    /metrics: mean time of each named database query, per request."""
    response = client.get("/metrics")
    if response.status_code != 200:
        return
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for line in response.text.splitlines():
        for metric in ("lrs_db_query_duration_seconds", "lrs_http_request_duration_seconds",
                       "lrs_db_pool_wait_seconds"):
            for suffix, into in (("_sum", sums), ("_count", counts)):
                if line.startswith(metric + suffix):
                    name, _, value = line.rpartition(" ")
                    label = name[len(metric + suffix):] or "{}"
                    if metric.startswith("lrs_http") and 'GET' not in label:
                        continue
                    short = {"lrs_db_query_duration_seconds": "query",
                             "lrs_http_request_duration_seconds": "request",
                             "lrs_db_pool_wait_seconds": "pool wait"}[metric]
                    key = f"{short} {label}".replace("{}", "").strip()
                    into[key] = into.get(key, 0.0) + float(value)
    print("\nServer side, from /metrics (all requests above): mean ms and count\n")
    print("| what | count | mean ms |")
    print("|---|---:|---:|")
    for key in sorted(sums):
        if counts.get(key):
            print(f"| {key} | {counts[key]:.0f} | {1000 * sums[key] / counts[key]:.2f} |")


def run(url: str, manifest: dict, args: argparse.Namespace) -> None:
    tenant = manifest["tenants"][args.tenant]
    kinds = args.kinds.split(",") if args.kinds else list(workload.KINDS)
    client = httpx.Client(base_url=url, auth=(tenant["key"], tenant["secret"]), timeout=60,
                          headers={"X-Experience-API-Version": "2.0.0"})
    with client:
        print(f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, nproc {os.cpu_count()}, "
              f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}, "
              f"tenant {tenant['name']} ({tenant['statements']:,} statements)")
        print(f"\nGET /xapi/statements?limit={args.limit}, {args.requests} requests per kind "
              "(ms, end to end over HTTP)\n")
        print("| filter | n | p50 | p95 | p99 | max | rows/page | target p95 |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for kind in kinds:
            r = latency(client, tenant, kind, args)
            target = ""
            if r["target"]:
                target = f"< {r['target']} {'ok' if r['p95'] < r['target'] else 'MISS'}"
            print(f"| {kind} | {r['n']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | "
                  f"{r['max']:.1f} | {r['rows']:.0f} | {target} |", flush=True)
        _server_side(client)
        if args.page_total:
            print(f"\nPaging through {args.page_total:,} statements, following `more`\n")
            print("| limit | filter | statements | pages | seconds | statements/s |")
            print("|---:|---|---:|---:|---:|---:|")
            for limit in (int(x) for x in args.page_limits.split(",")):
                for params in ({}, {"verb": "http://adlnet.gov/expapi/verbs/answered"}):
                    r = paging(client, limit, args.page_total, args.seconds * 4, params)
                    print(f"| {r['limit']} | {r['filter']} | {r['statements']:,} | {r['pages']} | "
                          f"{r['seconds']:.1f} | {r['rate']:,.0f} |", flush=True)
        print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure GET /xapi/statements over HTTP.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--data-dir", help="start `lrs serve` on this data folder")
    where.add_argument("--url", help="use this running LRS instead")
    parser.add_argument("--manifest", help="default DATA_DIR/bench-manifest.json")
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--tenant", type=int, default=0, help="index in the manifest")
    parser.add_argument("--kinds", help="comma-separated subset of: " + ", ".join(workload.KINDS))
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30, help="at most, per kind")
    parser.add_argument("--page-total", type=int, default=100_000)
    parser.add_argument("--page-limits", default="500,50")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reader", help="serve with this statement_reader.py's page queries "
                        "(e.g. the version before a change; see serve_with_reader.py)")
    args = parser.parse_args(argv)
    manifest_path = args.manifest or (Path(args.data_dir) / "bench-manifest.json")
    manifest = orjson.loads(Path(manifest_path).read_bytes())
    if args.url:
        run(args.url, manifest, args)
    else:
        if args.reader:
            print(f"# page queries of {args.reader}")
        with serving(args.data_dir, args.port, args.reader) as url:
            run(url, manifest, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
