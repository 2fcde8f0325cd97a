"""What the read scenarios query: statements the LRS acknowledged, and how
many statements a query's first page holds.

wrk cannot say which of its requests were answered 2xx, so filter values
drawn from every generated statement may name statements the LRS never
stored (a write scenario that stored little, or none run), and a query that
matches nothing would be timed like any other. So before the reads a sample
of the queried agency's statements is posted again, in batches, and only the
acknowledged ones (200) give filter values; after each filter's run a few of
its queries are sent once more and their first page counted, so that an
empty result shows in the table."""

from __future__ import annotations

import random

import httpx

from conformance.bench.workload import AgencyLoad, queryable
from conformance.lib import client_json

SIZE = 500  # statements posted for the sample
BATCH = 100  # per POST
TIMEOUT = 60.0  # seconds per request: a slow LRS is measured, not given up on


def _client(origin: str, load: AgencyLoad, xapi_version: str) -> httpx.Client:
    return httpx.Client(base_url=origin, timeout=TIMEOUT, headers={
        "Authorization": load.authorization, "X-Experience-API-Version": xapi_version})


def acknowledged(origin: str, xapi_path: str, load: AgencyLoad, xapi_version: str,
                 seed: int) -> list[dict]:
    """Post SIZE of `load`'s queryable statements (drawn at random, so that
    their learners and courses spread as the agency's do) and return those
    the LRS answered 200 to."""
    usable = queryable(load.statements)
    chosen = random.Random(f"{seed}:sample").sample(usable, min(SIZE, len(usable)))
    stored: list[dict] = []
    with _client(origin, load, xapi_version) as client:
        for start in range(0, len(chosen), BATCH):
            batch = chosen[start:start + BATCH]
            try:
                r = client.post(f"{xapi_path}statements", content=client_json(batch),
                                headers={"Content-Type": "application/json"})
            except httpx.HTTPError:
                continue
            if r.status_code == 200:
                stored.extend(batch)
    return stored


def first_pages(origin: str, queries: list[str], load: AgencyLoad, xapi_version: str,
                count: int = 3) -> str:
    """How many statements the first page of each of the first `count`
    queries holds ("50, 50, 12"); a status in its place when not 200."""
    sizes = []
    with _client(origin, load, xapi_version) as client:
        for query in queries[:count]:
            try:
                r = client.get(query)
            except httpx.HTTPError as e:
                sizes.append(type(e).__name__)
                continue
            try:
                sizes.append(str(len(r.json()["statements"])) if r.status_code == 200
                             else f"HTTP {r.status_code}")
            except (ValueError, KeyError, TypeError):
                sizes.append("not a StatementResult")
    return ", ".join(sizes)
