"""Large requests on the high-throughput path: what an LRS takes in one request,
and what it refuses whole.

- A batch of 1,000 statements (fewer only if LRS_CONF_MAX_BATCH is lower) is
  accepted with every id, and every statement reads back as sent (STPOST-01/02;
  1.0.3 ERR-08: configurable to accept any reasonable size).
- A several-MB attachment goes in over multipart and comes back byte-exact.
- A batch one statement past LRS_CONF_MAX_BATCH, and a body one byte past
  LRS_CONF_MAX_BODY, are refused with 413 and nothing of them is stored
  (ERR-06, ATT-12, STPOST-07). An LRS's limits are its own choice, so the user
  states them (--max-batch, --max-body); unset, these two tests skip, saying
  so, and so does 0, which says the LRS has no such limit.

Memory stays bounded: the over-size body is streamed, never held whole."""

from __future__ import annotations

import json
import random

import pytest

from conformance.lib import (
    MAX_BATCH,
    MAX_BODY,
    assert_status,
    attachment_object,
    encode_multipart,
    read_with_attachments,
    sha256_hex,
)

pytestmark = [pytest.mark.throughput]

MB = 1024 * 1024
# Unset or 0, a limit is not probed; the 1,000-statement batch still runs.
BIG_BATCH = min(1000, MAX_BATCH or 1000)
# Several MB, and well inside the body limit (multipart carries it once).
ATTACHMENT_BYTES = min(8 * MB, (MAX_BODY or 32 * MB) // 4)
PAD_EXTENSION = "http://conformance.example.com/extension/padding"


def test_stpost_01_02_err_08_a_batch_of_1000_statements(lrs, f, registration):
    # Half with ids, half LRS-assigned: both kinds of write in one big request.
    sent = [f.statement(registration=registration, with_id=i % 2 == 0) for i in range(BIG_BATCH)]
    r = lrs.post_statements(sent)
    assert_status(r, 200)
    ids = r.json()
    assert len(ids) == BIG_BATCH == len(set(ids)), f"{len(ids)} ids for {BIG_BATCH} statements"
    assert all(s["id"] == i for s, i in zip(sent, ids) if "id" in s), "STPOST-01: ids in request order"

    got_ids = lrs.wait_for_count({"registration": registration}, BIG_BATCH)
    assert sorted(got_ids) == sorted(ids), "the registration holds exactly the batch"
    stored, _ = lrs.fetch_all({"registration": registration})
    by_id = {s["id"]: s for s in stored}
    wrong = [i for s, i in zip(sent, ids) if by_id[i]["actor"] != s["actor"]
             or by_id[i]["object"]["id"] != s["object"]["id"]]
    assert not wrong, f"{len(wrong)} statement(s) read back differently, e.g. {wrong[:3]}"


def test_att_01_08_stget_24_a_several_mb_attachment_round_trips_byte_exact(lrs, f):
    # Random bytes: incompressible, and every byte value, CR and LF included.
    data = random.Random(ATTACHMENT_BYTES).randbytes(ATTACHMENT_BYTES)
    s = f.statement()
    s["attachments"] = [attachment_object(data, "application/octet-stream")]
    content, ctype = encode_multipart(s, [(data, "application/octet-stream")])
    assert_status(lrs.post("statements", content=content, headers={"Content-Type": ctype}), 200)
    assert_status(lrs.wait_for_statement(s["id"]), 200)

    parts = {h.get("x-experience-api-hash"): d for h, d in read_with_attachments(lrs, s["id"])[1:]}
    back = parts.get(sha256_hex(data))
    assert back is not None, f"no part with the attachment's hash among {list(parts)}"
    assert len(back) == len(data) and back == data, \
        f"{len(data)} bytes sent, {len(back)} returned (sha256 {sha256_hex(back)})"


def _probes(limit: int | None, option: str, env: str, what: str) -> pytest.MarkDecorator:
    """Skip a test of the 413 past a limit unless the user gave the limit."""
    reason = (f"give {option} ({env}): this LRS's {what}, past which it answers 413; "
              "the suite cannot know it" if limit is None
              else f"{env}=0: the LRS has no {what}")
    return pytest.mark.skipif(not limit, reason=reason)


@_probes(MAX_BATCH, "--max-batch", "LRS_CONF_MAX_BATCH", "statement-count limit")
def test_err_06_att_12_stpost_07_a_batch_past_the_count_limit_is_413_and_stores_nothing(
        lrs, f, registration):
    sent = [f.statement(registration=registration) for _ in range(MAX_BATCH + 1)]
    r = lrs.post_statements(sent)
    assert r.status_code == 413, (
        f"{MAX_BATCH + 1} statements in one POST: {r.status_code} {r.text[:200]} "
        f"(LRS_CONF_MAX_BATCH={MAX_BATCH} must be the LRS's limit, or 0 if it has none)")
    assert lrs.query_ids({"registration": registration}) == [], "part of a refused batch was stored"
    assert_status(lrs.get_statement(sent[-1]["id"]), 404)


@pytest.mark.timeout(180)
@_probes(MAX_BODY, "--max-body", "LRS_CONF_MAX_BODY", "body-size limit")
def test_err_06_stpost_07_a_body_past_the_byte_limit_is_413_and_stores_nothing(lrs, f, registration):
    # A valid batch whose only fault is its size: ten statements padded (in an
    # extension, where any value is allowed) to one byte past the limit.
    n = min(10, MAX_BATCH or 10)
    heads = [json.dumps(f.statement(registration=registration,
                                    result={"extensions": {PAD_EXTENSION: ""}})).encode()
             for _ in range(n)]
    size = MAX_BODY + 1
    padding = size - (sum(map(len, heads)) + n + 1)  # n + 1: the brackets and commas
    assert padding >= n, "LRS_CONF_MAX_BODY is too small for ten statements"

    def body():
        yield b"["
        for i, head in enumerate(heads):
            before, after = head.rsplit(b'""', 1)
            yield (b"," if i else b"") + before + b'"'
            left = padding // n + (padding % n if i == n - 1 else 0)
            while left:
                chunk = min(left, MB)
                yield b"x" * chunk
                left -= chunk
            yield b'"' + after
        yield b"]"

    r = lrs.post("statements", content=body(),
                 headers={"Content-Type": "application/json", "Content-Length": str(size)})
    assert r.status_code == 413, (
        f"a {size}-byte body: {r.status_code} {r.text[:200]} "
        f"(LRS_CONF_MAX_BODY={MAX_BODY} must be the LRS's limit, or 0 if it has none)")
    assert lrs.query_ids({"registration": registration}) == [], "part of a refused body was stored"
