"""The held-connections scenario (`--scenarios connections`): a client holds
thousands of connections open without finishing a request, while an agency
sends single statements and new clients keep connecting.

The attacker opens --held-connections (3,000) connections that send nothing
and TRICKLE (300) that send a request's headers a byte a second
(Slowloris), and opens a new one for every one the LRS closes. The agency's
rate and latency are measured first alone, then under the attack, for
--seconds each; a new client connects every half second and asks for
/xapi/about (3 s to answer). What a shared LRS owes here shows in whether
those new clients are still served: an LRS that holds every connection for
ever runs out of file descriptors (`--open-files` starts ours with a lower
soft limit, as systemd gives services by default: 1,024).
"""

from __future__ import annotations

import resource
import selectors
import socket
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from conformance.bench import workload, wrk

TRICKLE = 300
AGENCY_CONNECTIONS = 64
OPENED_PER_ROUND = 200  # at most, every 0.2 s: the attacker's own pace
HEADERS = (b"POST /xapi/statements HTTP/1.1\r\nHost: lrs\r\n"
           b"X-Experience-API-Version: 2.0.0\r\nX-Padding: " + b"a" * 4000)

HEADER = ["| phase | attacker connections held | agency statements/s | p50 ms | p99 ms | "
          "not 2xx | new clients answered | attacker connections closed by the LRS "
          "(408 / 503 answers) |",
          "|---|---:|---:|---:|---:|---:|---:|---:|"]


class _Attacker(threading.Thread):
    def __init__(self, host: str, port: int, idle: int) -> None:
        super().__init__(daemon=True)
        self.address, self.idle = (host, port), idle
        self.stop = threading.Event()
        self.held = {"idle": 0, "trickle": 0}
        self.counts = {"opened": 0, "closed": 0, "408": 0, "503": 0, "refused": 0}
        self.most_held = 0

    def run(self) -> None:
        selector = selectors.DefaultSelector()
        sent: dict[socket.socket, int] = {}  # trickling socket -> header bytes sent
        last_byte = time.monotonic()
        while not self.stop.is_set():
            for kind, wanted in (("idle", self.idle), ("trickle", TRICKLE)):
                for _ in range(min(OPENED_PER_ROUND, wanted - self.held[kind])):
                    self._open(selector, kind, sent)
            self.most_held = max(self.most_held, sum(self.held.values()))
            for key, _ in selector.select(timeout=0.2):
                self._answered(selector, key.fileobj, key.data, sent)
            if time.monotonic() - last_byte >= 1:
                last_byte = time.monotonic()
                for sock, count in sent.items():
                    try:
                        sock.send(HEADERS[count:count + 1])
                        sent[sock] = count + 1
                    except OSError:
                        pass  # closed: the selector reports it
        for key in list(selector.get_map().values()):
            key.fileobj.close()

    def _open(self, selector, kind: str, sent: dict) -> None:
        try:
            sock = socket.create_connection(self.address, timeout=2)
        except OSError:
            self.counts["refused"] += 1
            return
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, kind)
        if kind == "trickle":
            sent[sock] = 0
        self.held[kind] += 1
        self.counts["opened"] += 1

    def _answered(self, selector, sock, kind: str, sent: dict) -> None:
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        for status in ("408", "503"):
            if data.startswith(f"HTTP/1.1 {status}".encode()):
                self.counts[status] += 1
        if data and b"connection: close" not in data.lower():
            return
        selector.unregister(sock)
        sock.close()
        sent.pop(sock, None)
        self.held[kind] -= 1
        self.counts["closed"] += 1


class _NewClients(threading.Thread):
    """A new connection every 0.5 s asking for /xapi/about."""

    def __init__(self, origin: str, xapi_path: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{origin}{xapi_path}about"
        self.stop = threading.Event()
        self.answered = self.tried = 0

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self.tried += 1
            try:
                with urllib.request.urlopen(self.url, timeout=3) as response:
                    self.answered += response.status == 200
            except OSError:
                pass


def _raise_own_open_file_limit(idle: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = idle + TRICKLE + AGENCY_CONNECTIONS + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (
            wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))


def run(args, origin: str, xapi_path: str, loads: list[workload.AgencyLoad],
        work: Path) -> list[str]:
    idle = args.held_connections
    _raise_own_open_file_limit(idle)
    requests_file = work / "held-connections.tsv"
    workload.write_requests(requests_file, loads[:1], 1, xapi_path, args.seed)
    parts = urlsplit(origin)
    print(f"connections: {loads[0].name} single statements from {AGENCY_CONNECTIONS} "
          f"connections, {args.seconds} s alone, then {args.seconds} s while {idle:,} idle and "
          f"{TRICKLE:,} trickling connections are held ...", flush=True)
    lines = ["", f"A client holds connections open; an agency carries on ({args.seconds} s "
             "a phase):", "", *HEADER]
    attacker = _Attacker(parts.hostname or "127.0.0.1", parts.port or 80, idle)
    for phase in ("alone", "under the attack"):
        if phase != "alone":
            attacker.start()
            time.sleep(5)  # the attacker's connections opened
        clients = _NewClients(origin, xapi_path)
        clients.start()
        result = wrk.run(origin, requests_file, connections=AGENCY_CONNECTIONS,
                         seconds=args.seconds, seed=args.seed, xapi_version=args.xapi_version)
        clients.stop.set()
        clients.join()
        held = f"{attacker.most_held:,}" if phase != "alone" else "0"
        closed = (f"{attacker.counts['closed']:,} ({attacker.counts['408']:,} / "
                  f"{attacker.counts['503']:,})" if phase != "alone" else "")
        lines.append(f"| {phase} | {held} | {result.ok / result.seconds:,.0f} | "
                     f"{result.p50_ms:,.1f} | {result.p99_ms:,.1f} | {result.failed:,} "
                     f"{wrk.failures(result)}| {clients.answered} of {clients.tried} | "
                     f"{closed} |")
        print("    " + lines[-1], flush=True)
    attacker.stop.set()
    attacker.join()
    if attacker.counts["refused"]:
        lines += ["", f"The attacker could not open {attacker.counts['refused']:,} connections."]
    return lines
