"""Run wrk (https://github.com/wg/wrk, Debian package `wrk`) with
requests.lua and read back its result, plus the CPU wrk itself used: the
load generator must not be what limits the figures."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("requests.lua")


@dataclass
class WrkResult:
    requests: int  # answered
    sent: int  # started: the rest got no answer (in flight at the end, or a socket error)
    seconds: float
    statuses: dict[int, int]
    socket_errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    wrk_cpu_seconds: float

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def failed(self) -> int:
        return self.requests - self.ok

    @property
    def unanswered(self) -> int:
        return max(0, self.sent - self.requests)


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian/Ubuntu) "
                         "or build it from https://github.com/wg/wrk")
    return path


def run(origin: str, requests_file: Path, *, connections: int, seconds: float,
        threads: int = 2, seed: int = 1, timeout_s: int = 10,
        xapi_version: str = "2.0.0") -> WrkResult:
    command = [require_wrk(), f"-t{min(threads, connections)}", f"-c{connections}",
               f"-d{round(seconds)}s", f"--timeout={timeout_s}s", "-s", str(SCRIPT), origin,
               "--", str(requests_file), str(seed), xapi_version]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60,
                          check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return WrkResult(
        requests=data["requests"], sent=data["sent"], seconds=data["duration_us"] / 1e6,
        statuses={int(k): v for k, v in data["statuses"].items()},
        socket_errors=data["connect_errors"] + data["read_errors"] + data["write_errors"]
        + data["timeouts"],
        p50_ms=data["p50_us"] / 1000, p99_ms=data["p99_us"] / 1000, max_ms=data["max_us"] / 1000,
        wrk_cpu_seconds=cpu)


def failures(result: WrkResult) -> str:
    """The answers that were not 2xx, by status, socket errors (timeouts
    included), and requests sent that got no answer before the run ended:
    "(503: 66, no answer: 64) "."""
    other = {s: n for s, n in sorted(result.statuses.items()) if not 200 <= s < 300}
    parts = [f"{s}: {n}" for s, n in other.items()]
    if result.socket_errors:
        parts.append(f"socket errors: {result.socket_errors}")
    if result.unanswered:
        parts.append(f"no answer: {result.unanswered}")
    return f"({', '.join(parts)}) " if parts else ""
