"""How long single-statement POSTs wait while large batches arrive at the same
worker: one client posts single statements one after another (5 ms apart),
for `--seconds` alone and then again while a second client posts
`--batch`-statement batches back to back; a table of the singles' latency.

    python bench/big_batch_stall.py --url http://127.0.0.1:8080/xapi/ --key K --secret S \\
        [--seconds 15] [--batch 1000]

Run it against `lrs serve --workers 1` (with more workers the two clients may
land on different ones), once per version of the code being compared, on the
same data folder, alternating. Writes go to the credential's tenant."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid

import httpx

VERSION = {"X-Experience-API-Version": "1.0.3"}


def statement(i: int) -> dict:
    """About 760 bytes as JSON: a course activity with a definition, a result,
    a registration and an extension."""
    return {"actor": {"mbox": f"mailto:learner{i % 500}@stall.example.com", "name": "Learner"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced",
                     "display": {"en-US": "experienced"}},
            "object": {"id": f"http://stall.example.com/activity/{i % 100}",
                       "definition": {"name": {"en-US": "Course"},
                                      "description": {"en-US": "x" * 200}}},
            "result": {"score": {"scaled": 0.5}, "success": True, "duration": "PT1M"},
            "context": {"registration": str(uuid.uuid4()),
                        "extensions": {"http://stall.example.com/e": {"k": list(range(20))}}}}


async def post_batches(client: httpx.AsyncClient, size: int, stop: asyncio.Event) -> tuple[int, int]:
    body = json.dumps([statement(i) for i in range(size)]).encode()
    sent = 0
    while not stop.is_set():
        r = await client.post("statements", content=body, headers={"Content-Type": "application/json"})
        r.raise_for_status()
        sent += 1
    return sent, len(body)


async def post_singles(client: httpx.AsyncClient, seconds: float, stop: asyncio.Event) -> list[float]:
    latencies = []
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        started = time.perf_counter()
        r = await client.post("statements", json=statement(i))
        r.raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
        i += 1
        await asyncio.sleep(0.005)
    stop.set()
    return latencies


def quantile(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    print("| beside | singles | p50 ms | p90 ms | p99 ms | max ms | batches (bytes each) |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for beside in ("nothing", f"{args.batch}-statement batches"):
        stop = asyncio.Event()
        async with (httpx.AsyncClient(base_url=args.url, auth=(args.key, args.secret), headers=VERSION,
                                      timeout=60) as singles,
                    httpx.AsyncClient(base_url=args.url, auth=(args.key, args.secret), headers=VERSION,
                                      timeout=60) as batches):
            jobs = [post_singles(singles, args.seconds, stop)]
            if beside != "nothing":
                jobs.append(post_batches(batches, args.batch, stop))
            results = await asyncio.gather(*jobs)
        lat = results[0]
        sent = f"{results[1][0]} ({results[1][1]:,})" if len(results) > 1 else "-"
        print(f"| {beside} | {len(lat)} | {quantile(lat, .5):.1f} | {quantile(lat, .9):.1f} | "
              f"{quantile(lat, .99):.1f} | {max(lat):.1f} | {sent} |")


if __name__ == "__main__":
    asyncio.run(main())
