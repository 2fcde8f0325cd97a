"""ADL's own JavaScript client, xAPIWrapper (`xapiwrapper` 1.11.0), against
the live LRS. It is a browser library (window, document, location,
XMLHttpRequest, its bundled CryptoJS): tests/clients/xapiwrapper.mjs loads
its dist/xapiwrapper.min.js into a jsdom window whose URL is the LRS's own
origin, so its XMLHttpRequest makes real, same-origin requests. Installed,
run and asserted like the other JavaScript clients (tests/test_clients_js.py,
whose fixtures these tests reuse): one scenario per node process, one JSON
object out, the asserts here.

Each test runs twice: with the X-Experience-API-Version the wrapper ships
(`xapiVersion`, "1.0.1", not 1.0.3) and with it set to 2.0.0, which the
wrapper allows (it only sends the property's value).

Where the library, not the LRS, is at fault (worked around or shown):
- Saving a document, it sends an object as a POST (a merge, never a
  replacement) and anything else as a PUT of application/octet-stream, with
  neither If-Match nor If-None-Match unless the caller passes a hash or "*".
  A 1.0.x PUT that creates an Activity or Agent Profile document without
  either is refused with 400 (1.0.3 Communication 3.1; README): the wrapper
  reports it as its error "Request error: 400" (shown; 2.0 stores it). Its
  README's examples pass "*" as noneMatchHash, which works.
- matchHash/noneMatchHash are the bare SHA-1 (ADL.XAPIWrapper.hash of the
  content): ADL.formatHash adds the quotes, so the ETag header as the LRS
  sent it (already quoted) goes out as `""..""` and never matches (412,
  shown); unquoted, it works.
- It compares its version with /about's list as exact strings, so the
  version check logs that a 1.0.3 LRS "does not match" its 1.0.1 (shown).
  It has no About call of its own.
- Search parameters go into the URL as given: an Agent must be passed as JSON
  text; an object becomes `[object Object]` (400, shown).
- Without `strictCallbacks` a request that fails never calls its callback:
  the script sets `strictCallbacks: true` (error-first callbacks).
- Under jsdom, not in a browser: objects are made in the page's realm (the
  wrapper tests `instanceof Object`), and attachment content is given as an
  ArrayBuffer (jsdom's window has no TextEncoder, which a string needs).
"""

from __future__ import annotations

import hashlib

import pytest

from tests.test_clients_js import (  # noqa: F401 (node, run: fixtures)
    ATTEMPTED, COMPLETED, VOIDED, assert_paged_25_by_10, assert_person_of_ana, node, run)

SHIPPED = "1.0.1"  # the X-Experience-API-Version xAPIWrapper 1.11.0 sends


@pytest.fixture(params=[None, "2.0.0"], ids=[f"shipped-{SHIPPED}", "2.0.0"])
def xapiwrapper(request, run):  # noqa: F811 (the imported fixture)
    return lambda scenario, **kw: run("xapiwrapper.mjs", scenario, version=request.param, **kw)


def _v2(request) -> bool:
    return request.node.callspec.params["xapiwrapper"] == "2.0.0"


def test_xapiwrapper_statements_round_trip_and_queries(xapiwrapper):
    out = xapiwrapper("statements")
    mbox, course = out["actor"]["mbox"], out["object"]["id"]
    # The wrapper stamps its own id on the statement and POSTs it.
    assert out["sendStatus"] == 200 and out["id"] == out["stampedId"]
    got = out["got"]
    assert got["id"] == out["id"]
    assert got["actor"] == out["actor"]
    assert got["verb"]["id"] == COMPLETED and got["verb"]["display"]["en-US"] == "completed"
    assert got["object"] == out["object"]
    assert got["result"] == {"score": {"scaled": 0.9, "raw": 9, "min": 0, "max": 10},
                             "success": True}
    assert got["stored"] and got["authority"]
    assert out["batchStatus"] == 200 and len(set(out["ids"])) == 3
    assert out["readBack"] == out["batch"]
    modules = [[mbox, ATTEMPTED, f"{course}/module-{i}"] for i in range(3)]
    # Newest first: the batch (stored together), then the first statement.
    assert sorted(out["byAgent"][:3]) == modules
    assert out["byAgent"][3:] == [[mbox, COMPLETED, course]]
    assert out["byAgentAndVerb"] == [[mbox, COMPLETED, course]]
    assert out["byActivity"] == [modules[1]]
    assert out["agentObject"] == 400  # agent=[object Object]


def test_xapiwrapper_follows_more_across_pages(xapiwrapper):
    out = xapiwrapper("paging")
    assert_paged_25_by_10(out)


def test_xapiwrapper_voiding_hides_the_statement(xapiwrapper):
    out = xapiwrapper("voiding")
    assert out["afterStatus"] == 404 and out["afterError"] == "Request error: 404"
    assert out["voided"] == {"id": out["target"], "verb": COMPLETED}
    assert out["voidedVerb"] == VOIDED
    assert out["listed"] == [[out["voiding"], VOIDED, out["target"]]]


def test_xapiwrapper_state_documents(xapiwrapper):
    out = xapiwrapper("state")
    assert out["createStatus"] == 204
    assert out["got"] == out["progress"] and out["gotType"].startswith("application/json")
    # The ETag is the SHA-1 of the stored bytes: the wrapper's hash of the JSON.
    assert out["etag"] == f'"{out["sha1"]}"'
    # An object is POSTed, so saving another merges into the stored one.
    assert out["mergeStatus"] == 204
    assert out["merged"] == {**out["progress"], "page": 8, "done": False}
    assert out["noteStatus"] == 204 and out["note"] == "resume at chapter 2"
    assert out["noteType"] == "application/octet-stream"
    assert out["stale"] == 412
    assert out["fresh"] == 204  # If-Match: the hash of the document as read
    assert out["asSent"] == 412  # the quoted ETag, quoted again by formatHash
    assert out["unquoted"] == 204
    assert out["after"] == {**out["progress"], "page": 10, "done": False}
    assert out["scoped"] == {"attempt": 1}
    assert out["unscopedRead"] == 404
    assert out["scopedIds"] == ["scoped"]
    assert sorted(out["ids"]) == ["note", "progress"]
    assert out["deleteStatus"] == 204
    # A document read answers a 404 to the callback without an error.
    assert out["noteGone"] == {"status": 404, "error": None}
    assert out["scopedDelete"] == 204 and out["scopedGone"] == 404


def _plain_put(out: dict, value: str, v2: bool) -> None:
    """A text document saved without a hash: a PUT with neither header."""
    if v2:
        assert out["plain"]["status"] == 204 and out["plain"]["error"] is None
        assert out["plainRead"] == {"status": 200, "body": value}
    else:
        # xAPI 1.0.3 Communication 3.1: the client MUST send one of them.
        assert out["plain"]["status"] == 400
        assert out["plain"]["error"] == "Request error: 400"
        assert out["plain"]["body"]["error"]["field"] == "If-None-Match"
        assert out["plainRead"]["status"] == 404


def test_xapiwrapper_activity_profile_with_etags(request, xapiwrapper):
    out = xapiwrapper("activityProfile")
    v2 = _v2(request)
    _plain_put(out, "dark", v2)
    assert out["createStatus"] == 204  # noneMatchHash "*"
    assert out["theme"] == "dark" and out["themeType"] == "application/octet-stream"
    assert out["etag"] == f'"{out["sha1"]}"'
    assert out["again"] == 412
    assert out["stale"] == 412
    assert out["asSent"] == 412
    assert out["fresh"] == 204  # matchHash: ADL.XAPIWrapper.hash("dark")
    assert out["themeAfter"] == "light"
    assert out["objectCreate"] == 204
    assert out["first"] == {"theme": "dark"} and out["firstType"] == "application/json"
    assert out["merge"] == 204
    assert out["merged"] == {"theme": "dark", "font": "large"}
    assert sorted(out["ids"]) == (["plain"] if v2 else []) + ["settings", "theme"]
    assert out["staleDelete"] == 412
    assert out["deleteStatus"] == 204
    assert out["afterDelete"] == {"status": 404, "error": None}


def test_xapiwrapper_agent_profile_with_etags(request, xapiwrapper):
    out = xapiwrapper("agentProfile")
    v2 = _v2(request)
    _plain_put(out, "large-print", v2)
    assert out["createStatus"] == 204
    assert out["first"] == "large-print" and out["firstType"] == "application/octet-stream"
    assert out["etag"] == f'"{out["sha1"]}"'
    assert out["again"] == 412
    assert out["stale"] == 412
    assert out["asSent"] == 412
    assert out["fresh"] == 204
    assert out["second"] == "audio"
    assert out["objectCreate"] == 204
    assert out["settings"] == {"volume": 3} and out["settingsType"] == "application/json"
    assert sorted(out["ids"]) == (["plain"] if v2 else []) + ["preferences", "settings"]
    assert out["deleteStatus"] == 204
    assert out["afterDelete"] == {"status": 404, "error": None}


def test_xapiwrapper_activities_and_agents_resources(xapiwrapper):
    out = xapiwrapper("resources")
    assert out["activity"] == out["object"]
    assert out["unknown"] == {"objectType": "Activity", "id": out["unknownId"]}
    assert_person_of_ana(out)


def test_xapiwrapper_attachments_round_trip(xapiwrapper):
    out = xapiwrapper("attachments")
    content = out["content"].encode()
    assert out["sendStatus"] == 200
    [attachment] = out["attachments"]
    assert attachment["sha2"] == hashlib.sha256(content).hexdigest()
    assert attachment["length"] == len(content)
    assert attachment["contentType"] == "text/plain"
    media_type, boundary = out["partsType"].split("; boundary=")
    assert media_type == "multipart/mixed"
    parts = out["parts"].split(f"--{boundary}")
    assert parts[0] == "" and parts[-1] == "--\r\n" and len(parts) == 4
    head, body = parts[2].split("\r\n\r\n", 1)
    assert f"X-Experience-API-Hash: {attachment['sha2']}" in head.split("\r\n")
    assert body == out["content"] + "\r\n"


def test_xapiwrapper_about_and_configuration(request, xapiwrapper):
    out = xapiwrapper("about")
    v2 = _v2(request)
    assert out["shipped"] == SHIPPED
    assert out["sent"] == ("2.0.0" if v2 else SHIPPED)
    assert out["about"]["status"] == 200
    if v2:
        assert out["about"]["body"]["version"] == ["1.0.3", "2.0.0"]
        assert out["logged"] == []
    else:
        # A 1.0.x request is told of 1.0.3 only (lrs/http/about.py). Any 1.0.x
        # is served (as 1.0.3); the wrapper wants its exact string.
        assert out["about"]["body"]["version"] == ["1.0.3"]
        assert out["logged"] == [("The lrs version [1.0.3] does not match "
                                  "this wrapper's XAPI version [1.0.1]")]
    assert out["answered"] == ("2.0.0" if v2 else "1.0.3")
    assert out["testConfig"] is True and out["unconfigured"] is False
    assert out["wrongSecret"] == 401


def test_xapiwrapper_synchronous_calls(xapiwrapper):
    # The README's first style: no callback, a blocking XMLHttpRequest.
    out = xapiwrapper("synchronous")
    assert out["sendStatus"] == 200
    assert out["got"] == {"id": out["id"], "object": out["objectId"]}
    assert out["missing"] is None  # a 404 comes back as null
    assert out["state"] == {"page": 3}
    assert out["noState"] is None
