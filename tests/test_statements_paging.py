"""Paging GET /xapi/statements with `more` (1.0.3 Data 2.5, Communication
2.1.3; 2.0 LRS 4.1.6.1, 4.2.4.3; STGET-32..35)."""

from __future__ import annotations

import base64

import httpx
import orjson
import pytest

from tests.conftest import add_credential, make_tenant, server_with
from tests.statements_support import (ATTEMPTED, CONSISTENT, error_of, follow, listing, new_id,
                                      statement, stored)


@pytest.mark.parametrize("ascending", ["false", "true"])
def test_following_more_gives_every_statement_once(client, ascending):
    ids = stored(client, [statement() for _ in range(23)])
    first = listing(client, limit=5, ascending=ascending)
    assert len(first["statements"]) == 5
    got = follow(client, first)
    assert got == (ids if ascending == "true" else list(reversed(ids)))


def test_more_keeps_the_filters(client):
    reg = new_id()
    hits = stored(client, [statement(verb={"id": ATTEMPTED}, context={"registration": reg})
                           for _ in range(7)])
    stored(client, [statement() for _ in range(5)])
    first = listing(client, verb=ATTEMPTED, registration=reg, limit=2, format="ids")
    assert follow(client, first) == list(reversed(hits))
    page = client.get(first["more"]).json()
    assert page["statements"][0]["verb"] == {"id": ATTEMPTED}  # format kept


def test_more_keeps_since_and_until(client):
    early = stored(client, statement())
    times = [client.get("/xapi/statements", params={"statementId": early[0]}).json()["stored"]]
    middle = stored(client, [statement() for _ in range(6)])
    stored(client, statement())
    last_middle = client.get("/xapi/statements", params={"statementId": middle[-1]}).json()
    first = listing(client, since=times[0], until=last_middle["stored"], limit=4)
    assert follow(client, first) == list(reversed(middle))


def test_statements_written_while_paging_do_not_cause_duplicates_or_gaps(client):
    ids = stored(client, [statement() for _ in range(9)])
    first = listing(client, limit=4)
    stored(client, [statement() for _ in range(3)])
    assert follow(client, first) == list(reversed(ids))


def test_the_last_full_page_says_no_more(client):
    stored(client, [statement() for _ in range(4)])
    first = listing(client, limit=2)
    second = client.get(first["more"]).json()
    assert len(second["statements"]) == 2
    assert second["more"] == ""


def test_more_of_another_tenant_is_400_and_shows_nothing(client, client_for, database_url,
                                                         version):
    stored(client, [statement() for _ in range(3)])
    more = listing(client, limit=1)["more"]
    b = make_tenant(database_url)
    stored(client_for(b.key, b.secret, version=version), statement())
    response = client_for(b.key, b.secret, version=version).get(more)
    assert response.status_code == 400
    assert "statements" not in response.text
    assert error_of(response)["field"] == "more"


def test_a_tampered_more_is_400(client):
    stored(client, [statement() for _ in range(3)])
    more = listing(client, limit=1)["more"]
    token = more.split("more=", 1)[1]
    body, mac = token.split(".")
    sealed = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    sealed[-3] ^= 0x01  # a bit of the sealed state
    forged = base64.urlsafe_b64encode(bytes(sealed)).rstrip(b"=").decode()
    for bad in (f"{forged}.{mac}", token[:-2], "x", "", f"{body}.", "!!.??", "é.é"):
        response = client.get("/xapi/statements", params={"more": bad})
        assert response.status_code == 400, bad
        assert CONSISTENT in response.headers


def test_more_with_other_parameters_is_400(client):
    stored(client, [statement() for _ in range(3)])
    more = listing(client, limit=1)["more"]
    response = client.get(more + "&limit=5")
    assert response.status_code == 400


def test_more_of_a_read_mine_credential_stays_mine(client_for, database_url, tenant, version):
    key, secret = add_credential(database_url, tenant.name, ["statements/read/mine",
                                                            "statements/write"])
    mine_client = client_for(key, secret, version=version)
    everyone = client_for(tenant.key, tenant.secret, version=version)
    mine = stored(mine_client, [statement() for _ in range(3)])
    stored(everyone, [statement() for _ in range(3)])
    # A cursor issued to the full reader, replayed by the read/mine one.
    more = listing(everyone, limit=1)["more"]
    assert all(sid in mine for sid in follow(mine_client, mine_client.get(more).json()))
    assert follow(mine_client, listing(mine_client, limit=1)) == list(reversed(mine))


def test_head_with_more(client):
    stored(client, [statement() for _ in range(3)])
    more = listing(client, limit=1)["more"]
    head = client.head(more)
    assert head.status_code == 200
    assert head.content == b""
    assert CONSISTENT in head.headers


def test_more_keeps_attachments_true(client):
    stored(client, [statement() for _ in range(3)])
    first = client.get("/xapi/statements", params={"limit": 1, "attachments": "true"})
    assert first.headers["content-type"].startswith("multipart/mixed")
    body = first.content.split(b"\r\n\r\n", 1)[1]
    more = orjson.loads(body[:body.rindex(b"}") + 1])["more"]
    assert client.get(more).headers["content-type"].startswith("multipart/mixed")


def test_paging_through_direct_matches_and_referrers(client):
    expected = []
    for _ in range(5):
        [target] = stored(client, statement(verb={"id": ATTEMPTED}))
        stored(client, statement())
        [ref] = stored(client, statement(object={"objectType": "StatementRef", "id": target}))
        expected += [target, ref]
    first = listing(client, verb=ATTEMPTED, limit=3)
    assert follow(client, first) == list(reversed(expected))
    first = listing(client, verb=ATTEMPTED, limit=3, ascending="true")
    assert follow(client, first) == expected


def test_a_page_of_large_statements_ends_early_and_more_leads_on(settings, tenant):
    # LRS_PAGE_BYTES: the first statement always, then as many as fit; every
    # statement still comes, once, in order. `limit` is a maximum.
    registration = new_id()
    with server_with(settings.replace(page_bytes=3_000)) as server, httpx.Client(
            base_url=server.url, auth=(tenant.key, tenant.secret), timeout=30,
            headers={"X-Experience-API-Version": "2.0.0"}) as client:
        ids = stored(client, [statement(context={"registration": registration},
                                        result={"response": "x" * size})
                              for size in (100, 2_000, 100, 100, 5_000, 100, 100)])
        pages, page = [], listing(client, registration=registration, limit=10)
        while True:
            pages.append(page["statements"])
            if not page["more"]:
                break
            page = client.get(page["more"]).json()
    assert [s["id"] for p in pages for s in p] == list(reversed(ids))
    assert len(pages) >= 3
    for p in pages:
        assert len(p) == 1 or sum(len(orjson.dumps(s)) for s in p) < 3_000 + 200 * len(p)


def test_canonical_pages_end_early_on_their_rendered_size(settings, tenant):
    """format=canonical puts an Activity's canonical definition at each
    mention: a page ends early on the size rendered, not stored, and one
    statement carries at most 1 MiB of them (fuzz round 4: a 2.5 KB
    statement read back as 233 MB)."""
    registration, course = new_id(), f"http://example.com/course/{new_id()}"
    defined = {"id": course, "definition": {"extensions": {
        f"http://example.com/ext/{i}": "v" * 20 for i in range(800)}}}  # about 40 KB
    with server_with(settings.replace(page_bytes=100_000)) as server, httpx.Client(
            base_url=server.url, auth=(tenant.key, tenant.secret), timeout=30,
            headers={"X-Experience-API-Version": "2.0.0"}) as client:
        stored(client, statement(object=defined))
        mentions = [{"id": course}] * 10
        ids = stored(client, [statement(context={"registration": registration,
                                                 "contextActivities": {"other": mentions}})
                              for _ in range(4)])
        pages, page = [], listing(client, registration=registration, format="canonical")
        while True:
            pages.append(page["statements"])
            if not page["more"]:
                break
            page = client.get(page["more"]).json()
        assert [len(p) for p in pages] == [1, 1, 1, 1]
        assert [s["id"] for p in pages for s in p] == list(reversed(ids))
        assert all("definition" in a for a in pages[0][0]["context"]["contextActivities"]["other"])

        many = [{"id": course}] * 40
        [sid] = stored(client, statement(context={"contextActivities": {"other": many}}))
        got = client.get("/xapi/statements", params={"statementId": sid, "format": "canonical"})
        shown = got.json()["context"]["contextActivities"]["other"]
        assert len(got.content) < 1_100_000
        assert "definition" in shown[0] and "definition" not in shown[-1]
