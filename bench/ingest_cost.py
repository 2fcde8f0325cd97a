"""The LRS's own CPU per statement on the write path, without HTTP or
PostgreSQL: ingest.receive (parse, validate), ingest.batch (prepare, index)
and the group commit's columns (statement_insert._statement_columns), on
100-statement bodies of the load benchmark's statements, as clients of each
kind write them, in both xAPI versions.

    python bench/ingest_cost.py [CHECKOUT ...] [--rounds 3] [--passes 21]

Each CHECKOUT (a folder with lrs/, e.g. from `git archive`; default: this
repository) is measured in its own process, rounds alternating between
checkouts. A figure is the best of `passes` passes over 3,000 statements,
with the worker's allocator and collector settings; the table gives, per
checkout, the median of the rounds' figures in microseconds a statement.
Bounded: about 20 s a round per checkout."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
PER_REQUEST = 100
STATEMENTS = 3000
# How clients write a body: JSON.stringify / Jackson / orjson; Python's
# json.dumps with its defaults; PHP's json_encode with its defaults (Moodle's
# logstore_xapi), which writes every "/" as "\/".
STYLES = {
    "compact": lambda chunk: json.dumps(chunk, separators=(",", ":"), ensure_ascii=False),
    "python": lambda chunk: json.dumps(chunk),
    "php": lambda chunk: json.dumps(chunk, separators=(",", ":")).replace("/", "\\/"),
}
VERSIONS = ("2.0.0", "1.0.3")


def measure(passes: int) -> dict[str, float]:
    """In this process, for the lrs package first on sys.path."""
    from conformance.bench.workload import make_agencies
    from lrs import app, ingest
    from lrs.auth.principal import Principal, authority_for, expand
    from lrs.store.statement_insert import _statement_columns

    app._tune_allocator()
    statements = make_agencies([("key", "secret")], STATEMENTS, seed=7)[0].statements
    chunks = [statements[at:at + PER_REQUEST] for at in range(0, STATEMENTS, PER_REQUEST)]
    principal = Principal(tenant_id=1, tenant="agency", credential="key",
                          scopes=expand(["all"]),
                          authority=authority_for("http://127.0.0.1:8080", "key"))
    # As the worker does once started: what is alive now is frozen.
    app._tune_garbage_collector()

    def one_pass(bodies: list[bytes], version: str) -> None:
        for body in bodies:
            received = ingest.receive(body, "application/json", version, max_statements=1000)
            batch = ingest.batch(received, version=version, principal=principal)
            _statement_columns([(batch, pending) for pending in batch.statements])

    figures = {}
    for style, write in STYLES.items():
        bodies = [write(chunk).encode() for chunk in chunks]
        for version in VERSIONS:
            best = float("inf")
            for _ in range(passes):
                started = time.perf_counter()
                one_pass(bodies, version)
                best = min(best, time.perf_counter() - started)
            figures[f"{style} {version}"] = best / STATEMENTS * 1e6
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkouts", nargs="*", type=Path, default=[HERE])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--passes", type=int, default=21)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        sys.path.insert(0, str(args.measure))
        print(json.dumps(measure(args.passes)))
        return
    rounds: dict[Path, list[dict[str, float]]] = {c: [] for c in args.checkouts}
    for _ in range(args.rounds):
        for checkout in args.checkouts:
            # -P: the checkout, not this script's folder or the working
            # directory, is where `lrs` is imported from.
            out = subprocess.run(
                [sys.executable, "-P", __file__, "--measure", str(checkout.resolve()),
                 "--passes", str(args.passes)],
                check=True, capture_output=True, text=True, cwd=checkout).stdout
            rounds[checkout].append(json.loads(out))
    columns = [f"{style} {version}" for style in STYLES for version in VERSIONS]
    print(f"us of CPU a statement, median of {args.rounds} rounds "
          f"(best of {args.passes} passes over {STATEMENTS:,} statements each)\n")
    print("| checkout | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for checkout, measured in rounds.items():
        cells = [f"{statistics.median(r[c] for r in measured):.1f}" for c in columns]
        print(f"| {checkout} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
