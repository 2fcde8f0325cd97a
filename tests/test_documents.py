"""The document resources over HTTP: activities/state, activities/profile,
agents/profile (DOC, STATE, APROF, AGPROF), in both versions."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import email.utils
import gzip
import hashlib
import json
import threading
import time
import uuid
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import add_credential, make_tenant

AGENT = json.dumps({"objectType": "Agent", "mbox": "mailto:learner@example.com"})
ACTIVITY = "http://example.com/activities/course-1"
# A 1.0.x PUT that creates a profile document must say so (lrs.xapi.documents).
CREATE = {"If-None-Match": "*"}

KINDS = {
    "state": ("/xapi/activities/state", "stateId", {"activityId": ACTIVITY, "agent": AGENT}),
    "activity_profile": ("/xapi/activities/profile", "profileId", {"activityId": ACTIVITY}),
    "agent_profile": ("/xapi/agents/profile", "profileId", {"agent": AGENT}),
}


class Doc:
    def __init__(self, client: httpx.Client, kind: str) -> None:
        self.client, self.kind = client, kind
        self.path, self.id_param, self.scope = KINDS[kind]

    def one(self, doc_id: str, **extra: str) -> dict:
        return {**self.scope, self.id_param: doc_id, **extra}

    def put(self, doc_id: str, body=None, *, content: bytes | None = None,
            content_type: str | None = None, headers: dict | None = None) -> httpx.Response:
        return self._send("PUT", doc_id, body, content, content_type, headers)

    def post(self, doc_id: str, body=None, *, content: bytes | None = None,
             content_type: str | None = None, headers: dict | None = None) -> httpx.Response:
        return self._send("POST", doc_id, body, content, content_type, headers)

    def create(self, doc_id: str, body) -> httpx.Response:
        response = self.put(doc_id, body, headers=CREATE)
        assert response.status_code == 204, response.text
        return response

    def get(self, doc_id: str, **extra: str) -> httpx.Response:
        return self.client.get(self.path, params=self.one(doc_id, **extra))

    def delete(self, doc_id: str, headers: dict | None = None) -> httpx.Response:
        return self.client.delete(self.path, params=self.one(doc_id), headers=headers)

    def ids(self, **extra: str) -> httpx.Response:
        return self.client.get(self.path, params={**self.scope, **extra})

    def _send(self, method, doc_id, body, content, content_type, headers) -> httpx.Response:
        headers = dict(headers or {})
        if body is not None:
            content = json.dumps(body).encode()
            content_type = content_type or "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        return self.client.request(method, self.path, params=self.one(doc_id),
                                   content=content, headers=headers)


@pytest.fixture(params=list(KINDS))
def doc(request, client) -> Doc:
    return Doc(client, request.param)


def _error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


# --- storing and reading -------------------------------------------------------------

def test_put_get_delete(doc):
    body = {"answer": 42, "nested": {"a": [1, 2]}}
    doc.create("d1", body)
    got = doc.get("d1")
    assert got.status_code == 200
    assert got.json() == body
    assert got.headers["content-type"] == "application/json"
    assert doc.delete("d1").status_code == 204
    _error(doc.get("d1"), 404)
    # Deleting what is not there is still 204 (idempotent).
    assert doc.delete("d1").status_code == 204


def test_binary_document_round_trips(doc):
    data = bytes(range(256)) * 4 + b"\x00\xff"
    assert doc.put("bin", content=data, content_type="application/octet-stream",
                   headers=CREATE).status_code == 204
    got = doc.get("bin")
    assert got.content == data
    assert got.headers["content-type"] == "application/octet-stream"


def test_content_type_is_returned_as_stored(doc):
    # No charset is added to a text type stored without one.
    doc.put("txt", content=b"plain words", content_type="text/plain", headers=CREATE)
    got = doc.get("txt")
    assert got.headers["content-type"] == "text/plain"
    assert got.content == b"plain words"
    doc.put("png", content=b"\x89PNG...", content_type="image/png",
            headers={"If-None-Match": "*"})
    assert doc.get("png").headers["content-type"] == "image/png"


def test_missing_content_type_is_stored_as_octet_stream(doc):
    assert doc.put("raw", content=b"\x01\x02", headers=CREATE).status_code == 204
    assert doc.get("raw").headers["content-type"] == "application/octet-stream"


def test_missing_document_is_404(doc):
    error = _error(doc.get("never"), 404)
    assert "never" in error["message"]


def test_etag_is_quoted_sha1_and_head_matches(doc):
    doc.create("e", {"x": 1})
    got = doc.get("e")
    assert got.headers["etag"] == f'"{hashlib.sha1(got.content).hexdigest()}"'
    head = doc.client.head(doc.path, params=doc.one("e"))
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == got.headers["etag"]
    assert head.headers["last-modified"] == got.headers["last-modified"]


def test_write_responses_carry_the_new_etag(doc):
    put = doc.create("w", {"x": 1})
    assert put.headers["etag"] == doc.get("w").headers["etag"]
    post = doc.post("w", {"y": 2}, headers={"If-Match": put.headers["etag"]})
    assert post.status_code == 204
    assert post.headers["etag"] == doc.get("w").headers["etag"] != put.headers["etag"]


def test_last_modified_is_an_http_date_of_the_write(doc):
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    doc.create("lm", {"v": 1})
    stamp = email.utils.parsedate_to_datetime(doc.get("lm").headers["last-modified"])
    assert before - dt.timedelta(seconds=2) <= stamp <= before + dt.timedelta(seconds=5)


def test_unknown_activity_and_agent_are_accepted(doc):
    # DOC-02: no prior knowledge is needed.
    doc.create(f"fresh-{uuid.uuid4().hex}", {"v": 1})


def test_a_document_id_that_is_not_utf8_is_400_and_stores_nothing(doc):
    # GEN-05: %FF is no UTF-8; it must not be read as U+FFFD and stored under that.
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in doc.scope.items())
    response = doc.client.put(f"{doc.path}?{query}&{doc.id_param}=d%FF", content=b"{}",
                              headers={"Content-Type": "application/json"})
    _error(response, 400)
    assert doc.ids().json() == []


def test_document_over_the_limit_is_413(doc, server):
    limit = server.settings.max_document_bytes
    _error(doc.put("big", content=b"x" * (limit + 1), content_type="text/plain",
                   headers=CREATE), 413)
    _error(doc.get("big"), 404)
    assert doc.put("big", content=b"x" * limit, content_type="text/plain",
                   headers=CREATE).status_code == 204


def test_a_merge_past_the_limit_is_413_and_changes_nothing(doc, server):
    half = server.settings.max_document_bytes // 2
    doc.create("grows", {"x": "a" * half})
    _error(doc.post("grows", {"y": "b" * half}), 413)
    assert doc.get("grows").json() == {"x": "a" * half}


# --- preconditions -------------------------------------------------------------------

def test_put_if_match(doc):
    etag = doc.create("im", {"v": 1}).headers["etag"]
    _error(doc.put("im", {"v": 2}, headers={"If-Match": '"0000"'}), 412)
    assert doc.get("im").json() == {"v": 1}
    assert doc.put("im", {"v": 3}, headers={"If-Match": etag}).status_code == 204
    assert doc.get("im").json() == {"v": 3}
    _error(doc.put("im", {"v": 4}, headers={"If-Match": etag}), 412)  # stale
    assert doc.get("im").json() == {"v": 3}


def test_if_match_on_a_missing_document_is_412(doc):
    _error(doc.put("absent", {"v": 1}, headers={"If-Match": '"abc"'}), 412)
    _error(doc.put("absent", {"v": 1}, headers={"If-Match": "*"}), 412)
    _error(doc.get("absent"), 404)


def test_if_match_star_and_lists(doc):
    doc.create("star", {"v": 1})
    assert doc.put("star", {"v": 2}, headers={"If-Match": "*"}).status_code == 204
    etag = doc.get("star").headers["etag"]
    listed = f'"nope", {etag}'
    assert doc.put("star", {"v": 3}, headers={"If-Match": listed}).status_code == 204
    # A weak tag never matches If-Match (strong comparison).
    etag = doc.get("star").headers["etag"]
    _error(doc.put("star", {"v": 4}, headers={"If-Match": "W/" + etag}), 412)


def test_if_none_match_star(doc):
    assert doc.put("inm", {"v": 1}, headers={"If-None-Match": "*"}).status_code == 204
    _error(doc.put("inm", {"v": 2}, headers={"If-None-Match": "*"}), 412)
    _error(doc.post("inm", {"w": 2}, headers={"If-None-Match": "*"}), 412)
    assert doc.get("inm").json() == {"v": 1}


def test_a_star_in_a_list_is_400_and_changes_nothing(doc):
    # RFC 9110 13.1: `*` stands alone. Read as one tag of a list, it matched
    # nothing, and `If-None-Match: "abc", *` let a PUT overwrite the document
    # it was sent to protect (fuzz round 6); so did `*` on a second line.
    doc.create("starred", {"v": 1})
    for name in ("If-None-Match", "If-Match"):
        for header in ('"abc", *', '*, "abc"', "W/*"):
            error = _error(doc.put("starred", {"v": 2}, headers={name: header}), 400)
            assert name in error["message"]
        second_line = doc.client.put(doc.path, params=doc.one("starred"), content=b'{"v": 2}',
                                     headers=[("Content-Type", "application/json"),
                                              (name, '"abc"'), (name, "*")])
        _error(second_line, 400)
    assert doc.get("starred").json() == {"v": 1}


def test_a_get_the_client_has_is_304(doc):
    # RFC 9110 13.2.2: a GET whose If-None-Match matches (weakly), or without
    # one whose If-Modified-Since is not before the document's last change,
    # is 304 with the validators and no body.
    doc.create("cached", {"v": 1})
    got = doc.get("cached")
    etag, last_modified = got.headers["etag"], got.headers["last-modified"]
    hour_before = email.utils.format_datetime(
        email.utils.parsedate_to_datetime(last_modified) - dt.timedelta(hours=1), usegmt=True)
    for headers in ({"If-None-Match": etag}, {"If-None-Match": f'"x", W/{etag}'},
                    {"If-None-Match": "*"}, {"If-Modified-Since": last_modified}):
        r = doc.client.get(doc.path, params=doc.one("cached"), headers=headers)
        assert r.status_code == 304, (headers, r.status_code)
        assert (r.content, r.headers["etag"]) == (b"", etag)
        assert r.headers["last-modified"] == last_modified
    for headers in ({"If-None-Match": '"other"'}, {"If-Modified-Since": hour_before},
                    {"If-None-Match": '"other"', "If-Modified-Since": last_modified},
                    {"If-Modified-Since": "not a date"}):
        r = doc.client.get(doc.path, params=doc.one("cached"), headers=headers)
        assert (r.status_code, r.json()) == (200, {"v": 1}), headers
    listed = doc.ids()
    r = doc.client.get(doc.path, params=doc.scope, headers={"If-None-Match": listed.headers["etag"]})
    assert (r.status_code, r.content) == (304, b"")


def test_if_match_and_if_unmodified_since_are_checked_on_reads_and_writes(doc):
    etag = doc.create("dated", {"v": 1}).headers["etag"]
    last_modified = doc.get("dated").headers["last-modified"]
    hour_before = email.utils.format_datetime(
        email.utils.parsedate_to_datetime(last_modified) - dt.timedelta(hours=1), usegmt=True)
    _error(doc.client.get(doc.path, params=doc.one("dated"), headers={"If-Match": '"old"'}), 412)
    _error(doc.client.get(doc.path, params=doc.one("dated"),
                          headers={"If-Unmodified-Since": hour_before}), 412)
    # Changed after the date: the write is 412 and changes nothing.
    error = _error(doc.post("dated", {"w": 2}, headers={"If-Unmodified-Since": hour_before}), 412)
    assert "If-Unmodified-Since" in error["message"]
    _error(doc.delete("dated", headers={"If-Unmodified-Since": hour_before}), 412)
    assert doc.get("dated").json() == {"v": 1}
    # If-Match decides when both are sent (RFC 9110 13.1.4); a date that is
    # not an HTTP date is ignored.
    assert doc.post("dated", {"w": 2}, headers={"If-Match": etag,
                                                "If-Unmodified-Since": hour_before}).status_code == 204
    assert doc.post("dated", {"x": 3}, headers={"If-Unmodified-Since": "yesterday"}).status_code == 204
    last_modified = doc.get("dated").headers["last-modified"]
    assert doc.post("dated", {"y": 4},
                    headers={"If-Unmodified-Since": last_modified}).status_code == 204
    assert doc.get("dated").json() == {"v": 1, "w": 2, "x": 3, "y": 4}


def test_a_precondition_sent_on_several_header_lines_is_one_list(doc):
    # RFC 9110 5.3: If-None-Match: "a" and If-None-Match: "b" on two lines are
    # "a", "b". Only the first line was read, so the current tag on the second
    # line did not stop the write.
    etag = doc.create("lines", {"v": 1}).headers["etag"]

    def put(name: str, first: str, second: str) -> httpx.Response:
        return doc.client.put(doc.path, params=doc.one("lines"), content=b'{"v": 2}',
                              headers=[("Content-Type", "application/json"),
                                       (name, first), (name, second)])

    _error(put("If-None-Match", '"other"', etag), 412)
    assert doc.get("lines").json() == {"v": 1}
    assert put("If-Match", '"stale"', etag).status_code == 204
    assert doc.get("lines").json() == {"v": 2}


def test_a_null_character_in_a_document_id_is_400(doc):
    # Ids are kept as PostgreSQL text, which cannot hold U+0000: it was a 500.
    _error(doc.put("a\x00b", {"v": 1}, headers=CREATE), 400)
    _error(doc.get("a\x00b"), 400)


def test_a_compressed_document_is_415_and_stores_nothing(doc):
    # Stored as sent, it came back as gzip bytes labelled application/json.
    response = doc.put("gz", content=gzip.compress(b'{"v": 1}'), content_type="application/json",
                       headers={**CREATE, "Content-Encoding": "gzip"})
    _error(response, 415)
    _error(doc.get("gz"), 404)


def test_post_and_delete_honour_if_match(doc):
    etag = doc.create("pd", {"v": 1}).headers["etag"]
    _error(doc.post("pd", {"w": 2}, headers={"If-Match": '"0000"'}), 412)
    _error(doc.delete("pd", headers={"If-Match": '"0000"'}), 412)
    assert doc.get("pd").json() == {"v": 1}
    assert doc.post("pd", {"w": 2}, headers={"If-Match": etag}).status_code == 204
    etag = doc.get("pd").headers["etag"]
    assert doc.delete("pd", headers={"If-Match": etag}).status_code == 204
    _error(doc.get("pd"), 404)


def test_put_without_precondition_over_existing(doc, version):
    doc.create("np", {"v": 1})
    response = doc.put("np", {"v": 2})
    if doc.kind == "state" and version == "1.0.3":
        # 1.0.3 Communication 3.1: State permits PUT without concurrency headers.
        assert response.status_code == 204
        assert doc.get("np").json() == {"v": 2}
        return
    error = _error(response, 409)
    assert "If-Match" in error["message"]
    assert doc.get("np").json() == {"v": 1}


def test_put_without_precondition_creates_in_2_0_and_for_state(doc, version):
    # 1.0.3 Communication 3.1 makes one of the headers a client MUST for the
    # profile resources (ADL 1.0.3 suite XAPI-00273, -00287: 400).
    response = doc.put("new", {"v": 1})
    if version == "1.0.3" and doc.kind != "state":
        error = _error(response, 400)
        assert error["field"] == "If-None-Match" and "If-Match" in error["message"]
        _error(doc.get("new"), 404)
        return
    assert response.status_code == 204
    assert doc.get("new").json() == {"v": 1}


@pytest.mark.parametrize("kind", ["activity_profile", "agent_profile"])
def test_unconditional_profile_put_can_be_allowed(kind, unconditional_put_server, tenant):
    # LRS_UNCONDITIONAL_PROFILE_PUT, for clients that cannot send the headers
    # (TinCanPython, TinCan.NET): a 1.0.3 PUT creates; over an existing
    # document it is still 409.
    with httpx.Client(base_url=unconditional_put_server.url, auth=(tenant.key, tenant.secret),
                      headers={"X-Experience-API-Version": "1.0.3"}) as client:
        doc = Doc(client, kind)
        assert doc.put("legacy", {"v": 1}).status_code == 204
        assert doc.get("legacy").json() == {"v": 1}
        _error(doc.put("legacy", {"v": 2}), 409)


def test_post_of_invalid_json_creates_nothing(doc):
    # 1.0.3 2.2: "cannot be parsed as a JSON Object" is 400 even with no
    # stored document (ADL 1.0.3 suite XAPI-00314).
    _error(doc.post("bad", content=b'{"a": 1}[', content_type="application/json"), 400)
    _error(doc.post("bad", [1, 2]), 400)
    _error(doc.get("bad"), 404)


def _race(requests: list) -> list[int]:
    """Send the requests at once (one thread each); their status codes."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int] = [0] * len(requests)

    def run(i: int) -> None:
        barrier.wait()
        statuses[i] = requests[i]().status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


@pytest.mark.parametrize("version", ["2.0.0"])
def test_concurrent_puts_with_the_same_if_match_one_wins(client_for, tenant, version):
    clients = [client_for(tenant.key, tenant.secret, version=version) for _ in range(4)]
    for kind in KINDS:
        docs = [Doc(c, kind) for c in clients]
        for round_ in range(3):
            doc_id = f"race-{round_}"
            etag = docs[0].create(doc_id, {"v": 0}).headers["etag"]
            statuses = _race([
                (lambda d=d, i=i: d.put(doc_id, {"v": i + 1}, headers={"If-Match": etag}))
                for i, d in enumerate(docs)])
            assert sorted(statuses) == [204, 412, 412, 412], (kind, statuses)
            winner = statuses.index(204) + 1
            assert docs[0].get(doc_id).json() == {"v": winner}


@pytest.mark.parametrize("version", ["1.0.3"])
def test_concurrent_creates_with_if_none_match_one_wins(client_for, tenant, version):
    clients = [client_for(tenant.key, tenant.secret, version=version) for _ in range(4)]
    docs = [Doc(c, "state") for c in clients]
    for round_ in range(3):
        statuses = _race([
            (lambda d=d, i=i: d.put(f"c{round_}", {"v": i}, headers={"If-None-Match": "*"}))
            for i, d in enumerate(docs)])
        assert sorted(statuses) == [204, 412, 412, 412], statuses


@pytest.mark.parametrize("version", ["2.0.0"])
def test_concurrent_merges_lose_nothing(client_for, tenant, version):
    clients = [client_for(tenant.key, tenant.secret, version=version) for _ in range(6)]
    docs = [Doc(c, "activity_profile") for c in clients]
    statuses = _race([(lambda d=d, i=i: d.post("merged", {f"k{i}": i}))
                      for i, d in enumerate(docs)])
    assert statuses == [204] * 6
    assert docs[0].get("merged").json() == {f"k{i}": i for i in range(6)}


def test_creates_racing_deletes_are_never_turned_away(server, tenant):
    # POSTs creating a document while DELETEs remove it: every order has an
    # answer of 204 for each. Creators raced on the primary key and re-read,
    # three rounds at most: with deletes between, some lost all three and
    # got 503 (fuzz round 6: 12 of 3,600 such requests). Each write now
    # holds the document's lock (lrs.store.documents).
    async def rounds() -> collections.Counter:
        statuses: collections.Counter = collections.Counter()
        async with httpx.AsyncClient(base_url=server.url, auth=(tenant.key, tenant.secret),
                                     headers={"X-Experience-API-Version": "2.0.0"},
                                     timeout=30, limits=httpx.Limits(max_connections=60)) as c:
            for round_ in range(20):
                path, id_param, scope = KINDS[list(KINDS)[round_ % 3]]
                params = {**scope, id_param: f"churn-{round_}"}
                sent = [c.delete(path, params=params) if i % 2 else
                        c.post(path, params=params, json={f"k{i}": i}) for i in range(60)]
                statuses.update(r.status_code for r in await asyncio.gather(*sent))
        return statuses

    assert asyncio.run(rounds()) == {204: 1200}


def test_a_set_holds_ids_up_to_a_mebibyte(server, tenant):
    # A GET of a set's ids answers them all at once: 20,000 ids of 2.2 KB
    # made 44 MB answers (fuzz round 5). A set's ids may take 1 MiB
    # (lrs.xapi.documents.MAX_SET_ID_BYTES); past it, creating is 409, and
    # what is there can still be changed and deleted.
    agent = json.dumps({"mbox": f"mailto:{uuid.uuid4()}@example.com"})
    params = {"agent": agent}

    def doc_id(i: int) -> str:
        return f"{i:05d}" + "x" * 2295  # 2,300 bytes: 455 of them fit in 1 MiB

    async def fill() -> list[int]:
        async with httpx.AsyncClient(base_url=server.url, auth=(tenant.key, tenant.secret),
                                     headers={"X-Experience-API-Version": "2.0.0"},
                                     timeout=30) as c:
            async def put(i: int) -> int:
                r = await c.put("/xapi/agents/profile", params={**params, "profileId": doc_id(i)},
                                json={"i": i})
                return r.status_code
            statuses = []
            for start in range(0, 455, 50):
                statuses += await asyncio.gather(*map(put, range(start, min(455, start + 50))))
            return statuses

    assert asyncio.run(fill()) == [204] * 455
    with httpx.Client(base_url=server.url, auth=(tenant.key, tenant.secret),
                      headers={"X-Experience-API-Version": "2.0.0"}) as client:
        doc = Doc(client, "agent_profile")
        doc.scope = params
        error = _error(doc.put(doc_id(455), {"i": 455}), 409)
        assert "1,048,576" in error["message"]
        _error(doc.post(doc_id(455), {"i": 455}), 409)
        _error(doc.get(doc_id(455)), 404)
        assert doc.ids().json() == [doc_id(i) for i in range(455)]
        assert doc.post(doc_id(3), {"more": True}).status_code == 204
        assert doc.get(doc_id(3)).json() == {"i": 3, "more": True}
        assert doc.delete(doc_id(0)).status_code == 204
        assert doc.put(doc_id(455), {"i": 455}).status_code == 204


# --- JSON merge ----------------------------------------------------------------------

def test_post_creates_then_merges_top_level(doc):
    assert doc.post("m", {"a": 1, "b": {"x": 1}}).status_code == 204
    assert doc.post("m", {"b": {"y": 2}, "c": 3}).status_code == 204
    got = doc.get("m")
    assert got.json() == {"a": 1, "b": {"y": 2}, "c": 3}
    assert got.headers["content-type"] == "application/json"


def test_merge_accepts_json_with_charset(doc):
    doc.post("cs", {"a": 1}, content_type="application/json; charset=utf-8")
    assert doc.post("cs", {"b": 2}, content_type="application/json; charset=UTF-8").status_code == 204
    assert doc.get("cs").json() == {"a": 1, "b": 2}


def test_merge_reads_json_after_a_byte_order_mark(doc):
    # RFC 8259 8.1, as statements are read: on either side of the merge.
    bom = b"\xef\xbb\xbf"
    assert doc.post("bom", content=bom + b'{"a": 1}',
                    content_type="application/json").status_code == 204
    assert doc.post("bom", content=bom + b'{"b": 2}',
                    content_type="application/json").status_code == 204
    assert doc.get("bom").json() == {"a": 1, "b": 2}


def test_post_creates_non_json_document_as_given(doc):
    assert doc.post("nj", content=b"\x00bin", content_type="application/octet-stream").status_code == 204
    assert doc.get("nj").content == b"\x00bin"


def test_post_json_onto_non_json_is_400(doc):
    doc.put("t", content=b"plain text", content_type="text/plain", headers=CREATE)
    error = _error(doc.post("t", {"a": 1}), 400)
    assert "stored document" in error["message"]
    assert doc.get("t").content == b"plain text"


def test_post_non_object_onto_json_is_400(doc):
    doc.create("j", {"a": 1})
    _error(doc.post("j", content=b"not json", content_type="text/plain"), 400)
    _error(doc.post("j", content=b"not json", content_type="application/json"), 400)
    _error(doc.post("j", [1, 2]), 400)
    _error(doc.post("j", "text"), 400)
    assert doc.get("j").json() == {"a": 1}


def test_post_onto_json_array_is_400(doc):
    doc.put("arr", [1, 2], headers=CREATE)
    _error(doc.post("arr", {"a": 1}), 400)
    assert doc.get("arr").json() == [1, 2]


# --- id lists ------------------------------------------------------------------------

def test_id_list_and_since(doc):
    empty = doc.ids()
    assert empty.status_code == 200 and empty.json() == []
    assert "last-modified" not in empty.headers
    doc.create("first", {"v": 1})
    time.sleep(0.05)
    mark = dt.datetime.now(dt.timezone.utc)
    time.sleep(0.05)
    doc.create("second", {"v": 2})
    listed = doc.ids()
    assert listed.json() == ["first", "second"]
    assert listed.headers["content-type"] == "application/json"
    assert listed.headers["etag"].startswith('"')
    assert listed.headers["last-modified"] == doc.get("second").headers["last-modified"]
    since = mark.isoformat().replace("+00:00", "Z")
    assert doc.ids(since=since).json() == ["second"]
    assert doc.ids(since="2999-01-01T00:00:00Z").json() == []
    _error(doc.ids(since="yesterday"), 400)


def test_since_with_an_id(doc, version):
    # 2.0 LRS 4.1.6.2: "Not Allowed". 1.0.3: checked, then ignored (ADL 1.0.3 suite,
    # State "can process a GET request with since": the document comes back).
    doc.create("x", {"v": 1})
    response = doc.get("x", since="2020-01-01T00:00:00Z")
    if version == "2.0.0":
        _error(response, 400)
    else:
        assert response.status_code == 200 and response.json() == {"v": 1}
    _error(doc.get("x", since="not a timestamp"), 400)


# --- parameters ----------------------------------------------------------------------

def test_missing_required_parameters_are_400(doc):
    for name in doc.scope:
        params = doc.one("x")
        del params[name]
        for method in ("GET", "PUT", "POST", "DELETE"):
            response = doc.client.request(method, doc.path, params=params, json={"a": 1})
            assert _error(response, 400)["field"] == name
    if doc.kind != "state":
        for method in ("PUT", "POST", "DELETE"):
            response = doc.client.request(method, doc.path, params=doc.scope, json={"a": 1})
            assert _error(response, 400)["field"] == doc.id_param
    else:
        for method in ("PUT", "POST"):
            response = doc.client.request(method, doc.path, params=doc.scope, json={"a": 1})
            assert _error(response, 400)["field"] == "stateId"


def test_unknown_and_miscased_parameters_are_400(doc):
    _error(doc.get("x", bogus="1"), 400)
    params = doc.one("x")
    params[doc.id_param.upper()] = params.pop(doc.id_param)
    assert "did you mean" in _error(doc.client.get(doc.path, params=params), 400)["message"]
    _error(doc.get(""), 400)


@pytest.mark.parametrize("kind", ["state", "agent_profile"])
def test_bad_agent_is_400(client, kind):
    doc = Doc(client, kind)
    for bad in ("not json", "[]", '{"name": "no ifi"}', '{"mbox": "bob@example.com"}',
                '{"mbox": "mailto:a@b.c", "openid": "http://b.c/"}'):
        error = _error(client.get(doc.path, params={**doc.one("x"), "agent": bad}), 400)
        assert error["field"].startswith("agent"), error


@pytest.mark.parametrize("kind", ["state", "activity_profile"])
def test_bad_activity_id_is_400(client, kind):
    doc = Doc(client, kind)
    for bad in ("no-scheme", "", "http://e.com/has space"):
        response = client.get(doc.path, params={**doc.one("x"), "activityId": bad})
        assert _error(response, 400)["field"] == "activityId"


def test_agent_is_keyed_by_its_ifi(client):
    # The same IFI with another name (and the mbox domain in other case) is the same agent.
    docs = Doc(client, "agent_profile")
    docs.create("p", {"v": 1})
    other = json.dumps({"mbox": "mailto:learner@EXAMPLE.com", "name": "Someone"})
    got = client.get(docs.path, params={"agent": other, "profileId": "p"})
    assert got.json() == {"v": 1}


def test_agent_profile_refuses_a_group(client):
    group = json.dumps({"objectType": "Group", "mbox": "mailto:team@example.com"})
    _error(client.get("/xapi/agents/profile", params={"agent": group, "profileId": "p"}), 400)


# --- state specifics -------------------------------------------------------------------

def test_state_registration_scopes_documents(client):
    state = Doc(client, "state")
    r1, r2 = str(uuid.uuid4()), str(uuid.uuid4())
    assert state.put("reg", {"r": 1}, headers={"If-None-Match": "*"}).status_code == 204
    assert client.put(state.path, params=state.one("reg", registration=r1),
                      json={"r": 2}).status_code == 204
    assert state.get("reg").json() == {"r": 1}
    assert state.get("reg", registration=r1).json() == {"r": 2}
    assert state.get("reg", registration=r1.upper()).json() == {"r": 2}
    _error(state.get("reg", registration=r2), 404)
    assert state.ids(registration=r1).json() == ["reg"]
    assert state.ids(registration=r2).json() == []
    _error(state.get("reg", registration="not-a-uuid"), 400)


def test_state_delete_all_of_one_context(client):
    state = Doc(client, "state")
    reg = str(uuid.uuid4())
    for i in range(3):
        state.create(f"s{i}", {"i": i})
    client.put(state.path, params=state.one("kept", registration=reg), json={"k": 1})
    other_activity = {**state.one("kept"), "activityId": ACTIVITY + "/other"}
    client.put(state.path, params=other_activity, json={"k": 2})
    assert state.ids().json() == ["s0", "s1", "s2"]
    assert client.delete(state.path, params=state.scope).status_code == 204
    assert state.ids().json() == []
    _error(state.get("s0"), 404)
    # Another registration, another activity: untouched.
    assert state.get("kept", registration=reg).json() == {"k": 1}
    assert client.get(state.path, params=other_activity).json() == {"k": 2}
    params = {**state.scope, "registration": reg}
    assert client.delete(state.path, params=params).status_code == 204
    _error(state.get("kept", registration=reg), 404)


def test_state_delete_all_honours_if_match_against_the_id_list(client):
    """DELETE of all State documents is held to If-Match / If-None-Match as
    the URL's resource, the id list its GET answers with an ETag: a stale
    list's ETag or a document's ETag is 412 and deletes nothing; the list's
    current ETag deletes them all. The list exists even empty, so `*`
    matches it always (and If-None-Match: * never)."""
    state = Doc(client, "state")
    for i in range(2):
        state.create(f"m{i}", {"i": i})
    listed = state.ids()
    state.create("m2", {"i": 2})  # the list read above is now stale
    one_document = state.get("m0").headers["etag"]
    for headers in ({"If-Match": listed.headers["etag"]}, {"If-Match": one_document},
                    {"If-None-Match": "*"}):
        _error(client.delete(state.path, params=state.scope, headers=headers), 412)
        assert state.ids().json() == ["m0", "m1", "m2"]
    current = state.ids().headers["etag"]
    assert client.delete(state.path, params=state.scope,
                         headers={"If-Match": f'"stale", {current}'}).status_code == 204
    empty = state.ids()
    assert empty.json() == []
    for headers in ({"If-Match": empty.headers["etag"]}, {"If-Match": "*"}):
        assert client.delete(state.path, params=state.scope,
                             headers=headers).status_code == 204
    _error(client.delete(state.path, params=state.scope, headers={"If-Match": current}), 412)


def test_state_accepts_an_identified_group(client):
    state = Doc(client, "state")
    group = json.dumps({"objectType": "Group", "account": {"homePage": "http://e.com",
                                                          "name": "team-1"}})
    params = {**state.one("g"), "agent": group}
    assert client.put(state.path, params=params, json={"g": 1}).status_code == 204
    assert client.get(state.path, params=params).json() == {"g": 1}


# --- alternate request syntax (1.0.3) ----------------------------------------------------

def test_alternate_syntax_put_and_get(client_for, tenant):
    client = client_for(tenant.key, tenant.secret, version=None)
    auth = httpx.BasicAuth(tenant.key, tenant.secret)._auth_header
    form = {"Authorization": auth, "X-Experience-API-Version": "1.0.3",
            "Content-Type": "application/json", "If-None-Match": "*",
            "content": '{"alt": true}', "activityId": ACTIVITY, "agent": AGENT,
            "stateId": "alt"}
    put = client.post("/xapi/activities/state", params={"method": "PUT"}, data=form)
    assert put.status_code == 204, put.text
    again = client.post("/xapi/activities/state", params={"method": "PUT"}, data=form)
    _error(again, 412)
    get_form = {k: form[k] for k in ("Authorization", "X-Experience-API-Version",
                                     "activityId", "agent", "stateId")}
    got = client.post("/xapi/activities/state", params={"method": "GET"}, data=get_form)
    assert got.status_code == 200
    assert got.json() == {"alt": True}


# --- scopes and tenancy -------------------------------------------------------------------

def test_scopes(client_for, tenant, database_url):
    def as_(*scopes: str) -> Doc:
        key, secret = add_credential(database_url, tenant.name, list(scopes))
        return client_for(key, secret)

    state_only = as_("state")
    assert Doc(state_only, "state").put("s", {"v": 1}).status_code == 204
    _error(Doc(state_only, "activity_profile").put("p", {"v": 1}), 403)
    profile_only = as_("profile")
    assert Doc(profile_only, "agent_profile").put("p", {"v": 1}).status_code == 204
    assert Doc(profile_only, "activity_profile").put("p", {"v": 1}).status_code == 204
    _error(Doc(profile_only, "state").get("s"), 403)
    reader = as_("all/read")
    for kind in KINDS:
        assert Doc(reader, kind).ids().status_code == 200
        _error(Doc(reader, kind).put("x", {"v": 1}), 403)
        _error(Doc(reader, kind).delete("x"), 403)
    assert Doc(reader, "state").get("s").json() == {"v": 1}
    statements_only = as_("statements/write", "statements/read")
    for kind in KINDS:
        _error(Doc(statements_only, kind).get("x"), 403)


def test_one_tenant_never_sees_anothers_documents(client_for, tenant, database_url, version):
    other = make_tenant(database_url)
    a = client_for(tenant.key, tenant.secret, version=version)
    b = client_for(other.key, other.secret, version=version)
    for kind in KINDS:
        Doc(a, kind).create("secret", {"owner": "a"})
        doc_b = Doc(b, kind)
        _error(doc_b.get("secret"), 404)
        assert doc_b.ids().json() == []
        _error(doc_b.put("secret", {"v": 1}, headers={"If-Match": "*"}), 412)
        # B's document of the same name is its own; deleting it leaves A's.
        doc_b.create("secret", {"owner": "b"})
        assert doc_b.delete("secret").status_code == 204
        assert Doc(a, kind).get("secret").json() == {"owner": "a"}
    b.delete(KINDS["state"][0], params=KINDS["state"][2])
    assert Doc(a, "state").ids().json() == ["secret"]


def test_versions_share_documents(client_for, tenant):
    v1 = Doc(client_for(tenant.key, tenant.secret, version="1.0.3"), "activity_profile")
    v2 = Doc(client_for(tenant.key, tenant.secret, version="2.0.0"), "activity_profile")
    etag = v2.create("shared", {"v": 1}).headers["etag"]
    assert v1.get("shared").headers["etag"] == etag
    assert v1.put("shared", {"v": 2}, headers={"If-Match": etag}).status_code == 204
    assert v2.get("shared").json() == {"v": 2}
    assert v2.get("shared").headers["x-experience-api-version"] == "2.0.0"
    assert v1.get("shared").headers["x-experience-api-version"] == "1.0.3"
