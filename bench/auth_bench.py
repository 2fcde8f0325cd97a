"""What authentication costs per request: HTTP Basic (one primary-key
look-up and a SHA-256), a Bearer JWT the LRS issued (HS256 and a tenant
look-up), and over HTTP the same request with and without credentials.

    python bench/auth_bench.py --data-dir /tmp/bench-auth

Starts `lrs serve` on loopback with its own embedded PostgreSQL, prints a
table of medians and p95 over --requests sequential requests each."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

V2 = {"X-Experience-API-Version": "2.0.0"}


def timed(call, n: int) -> tuple[float, float]:
    for _ in range(20):
        call()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(n * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="/tmp/bench-auth")
    parser.add_argument("--port", type=int, default=8340)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    data = Path(args.data_dir)
    shutil.rmtree(data, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "LRS_DATABASE_URL"}
    env["LRS_LOG_LEVEL"] = "warning"
    proc = subprocess.Popen([str(Path(sys.executable).with_name("lrs")), "serve", "--data-dir",
                             str(data), "--port", str(args.port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = f"http://127.0.0.1:{args.port}"
    try:
        key = secret = None
        for line in proc.stdout:
            if line.strip().startswith("key:"):
                key = line.split()[-1]
            if line.strip().startswith("secret:"):
                secret = line.split()[-1]
                break
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        with httpx.Client(base_url=url, headers=V2) as http:
            token = http.post("/oauth/token", auth=(key, secret),
                              data={"grant_type": "client_credentials"}).json()["access_token"]
            path = "/xapi/statements?statementId=00000000-0000-4000-8000-000000000000"
            rows = [
                ("GET /xapi/about, no credentials", lambda: http.get("/xapi/about")),
                ("GET /xapi/about, with Basic (ignored)", lambda: http.get("/xapi/about", auth=(key, secret))),
                ("GET statement (404), no credentials: 401", lambda: http.get(path)),
                ("GET statement (404), Basic", lambda: http.get(path, auth=(key, secret))),
                ("GET statement (404), Bearer (issued JWT)",
                 lambda: http.get(path, headers={"Authorization": f"Bearer {token}"})),
                ("GET statement (404), wrong Basic secret: 401",
                 lambda: http.get(path, auth=(key, "wrong"))),
            ]
            results = [(name, *timed(call, args.requests)) for name, call in rows]
            metrics = http.get("/metrics").text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        shutil.rmtree(data, ignore_errors=True)
    lookup = [line for line in metrics.splitlines()
              if 'query="credentials.lookup"' in line and "_sum" in line or
              'query="credentials.lookup"' in line and "_count" in line]
    print(f"\n{args.requests} sequential requests each, one keep-alive connection, "
          f"nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}\n")
    print("| request | p50 ms | p95 ms |\n|---|---:|---:|")
    for name, p50, p95 in results:
        print(f"| {name} | {p50:.2f} | {p95:.2f} |")
    total = count = 0.0
    for line in lookup:
        value = float(line.rsplit(" ", 1)[1])
        if "_sum" in line:
            total = value
        else:
            count = value
    if count:
        print(f"\ncredentials.lookup query, server side: mean {total / count * 1000:.3f} ms "
              f"over {count:.0f}")


if __name__ == "__main__":
    main()
