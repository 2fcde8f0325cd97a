"""10,000 malformed requests (LRS_CONF_MALFORMED): every one answered 4xx, never
5xx, and nothing of any of them stored.

The requests come from conformance/malformed.py: invalid JSON, wrong types,
missing and unknown properties, bad formats and ranges, huge values, deep
nesting, invalid UTF-8, bad version/Authorization/Content-Type headers, bad query
parameters, broken multipart bodies, wrong methods, and a share against the
document resources. Each is sent with the run's marker in it; afterwards every
statement stored since the run began is read back and none may hold the marker,
the marker's registration holds nothing, and the marker's documents do not exist
(ERR-01, ERR-04, GEN-05, GEN-07..10, and the rule each request breaks)."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import httpx
import pytest

from conformance.lib import MALFORMED, XAPI, Config, assert_status, new_id, single_statement
from conformance.malformed import Generator, Request

THREADS = 16
BUDGET = 240.0  # seconds for sending them all


def _send(http: httpx.Client, cfg: Config, req: Request, auth: str) -> str | None:
    """None when the answer is a 4xx; otherwise what went wrong."""
    headers = {"Authorization": auth, **req.headers}
    try:
        r = http.request(req.method, cfg.url + req.path, headers=headers, content=req.body)
    except httpx.HTTPError as e:
        return f"no answer ({type(e).__name__}: {e})"
    if 400 <= r.status_code < 500:
        return None
    return f"{r.status_code} {r.text[:200]}"


@pytest.mark.timeout(BUDGET + 120)
def test_gen_05_07_10_err_01_err_04_malformed_requests_are_4xx_and_store_nothing(cfg, f):
    marker = f"malformed{new_id().replace('-', '')[:16]}"
    registration = new_id()
    gen = Generator(marker, registration, cfg.versions)
    auth = cfg.authorization()
    # Both clients are closed however the test ends: an unclosed one's ResourceWarning
    # (an error under filterwarnings=error) would be charged to whichever test comes next.
    with XAPI(cfg, cfg.versions[-1]) as lrs:
        # The LRS's own clock marks where the run began: the `stored` of a statement.
        # Its body is checked only after the run: the requests go out whatever it is.
        before = f.statement()
        lrs.store(before)
        before_read = lrs.wait_for_statement(before["id"])

        deadline = time.monotonic() + BUDGET
        limits = httpx.Limits(max_connections=THREADS, max_keepalive_connections=THREADS)
        with httpx.Client(timeout=30, limits=limits) as http:
            def one(i: int) -> tuple[Request, str] | None:
                if time.monotonic() > deadline:
                    return gen.request(i), "not sent: the time budget ran out"
                req = gen.request(i)
                problem = _send(http, cfg, req, auth)
                return (req, problem) if problem else None

            with ThreadPoolExecutor(THREADS) as pool:
                bad = [b for b in pool.map(one, range(MALFORMED)) if b]
        # Requests only a SHOULD refuses may be stored: they are judged apart, last.
        lenient_ids = {gen.statement(i)["id"] for i in range(MALFORMED) if gen.request(i).should}
        # Stored (2xx) is lenient; a 5xx or no answer is a failure whatever the rule.
        lenient = [(req, problem) for req, problem in bad if req.should and problem[0] == "2"]
        bad = [(req, problem) for req, problem in bad if (req, problem) not in lenient]

        kinds = Counter(req.kind for req, _ in bad)
        assert len(bad) == 0, (f"{len(bad)} of {MALFORMED} not answered 4xx {dict(kinds)}:\n"
                               + _examples(bad))

        since = single_statement(before_read, before["id"])["stored"]
        # A statement written after the run: once it is readable, so is anything before it.
        after = f.statement()
        lrs.store(after)
        assert_status(lrs.wait_for_statement(after["id"]), 200)
        stored, _ = lrs.fetch_all({"since": since})
        leaked = [s["id"] for s in stored if marker in json.dumps(s) and s["id"] not in lenient_ids]
        in_registration = set(lrs.query_ids({"registration": registration})) - lenient_ids
        documents = _marker_documents(lrs, gen)

    assert len(leaked) == 0, f"statements stored from malformed requests: {leaked[:5]}"
    assert len(in_registration) == 0, "the marker's registration holds statements"
    assert documents == [], "documents stored from malformed requests"
    assert not lenient, (f"GEN-13: {len(lenient)} request(s) with a JSON statement under another "
                         f"Content-Type (1.0.3 SHOULD* reject) not answered 4xx:\n" + _examples(lenient))


def _examples(bad: list[tuple[Request, str]]) -> str:
    return "\n".join(f"  {req.kind}: {req.method} {req.path[:80]} — {req.why} -> {problem}"
                     for req, problem in bad[:15])


def test_gen_05_query_parameters_that_are_not_utf_8_are_400_and_store_nothing(lrs, f):
    # %FF decodes to no character: reading it as U+FFFD would name another document.
    activity, agent = f.activity_id("utf8"), json.dumps(f.agent("utf8"))
    query = f"activityId={quote(activity, safe='')}&agent={quote(agent, safe='')}"
    r = lrs.put(f"activities/state?{query}&stateId=s%FF", content=b"{}",
                headers={"Content-Type": "application/json"})
    assert_status(r, 400)
    assert lrs.get("activities/state", params={"activityId": activity, "agent": agent}).json() == []
    assert_status(lrs.get(f"statements?verb={quote(activity, safe='')}%C3%28"), 400)


def _marker_documents(lrs: XAPI, gen: Generator) -> list[str]:
    """The documents the malformed requests named, if any exist."""
    agent = json.dumps(gen.agent)
    found = []
    for path, params in (("activities/state", {"activityId": gen.activity, "agent": agent}),
                         ("activities/profile", {"activityId": gen.activity}),
                         ("agents/profile", {"agent": agent})):
        r = lrs.get(path, params=params)
        assert_status(r, 200)
        found += [f"{path}: {doc_id}" for doc_id in r.json()]
    return found
