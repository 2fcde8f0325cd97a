"""Property tests: generated valid statements pass in their version, and a
mutation that breaks one rule fails at the path of the broken property."""

from __future__ import annotations

import copy
from datetime import timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lrs.errors import ValidationError
from lrs.xapi.jsonparse import parse_json
from lrs.xapi.validate import validate_statement, validate_statements
from lrs.xapi.versions import V1, V2

import orjson

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

SLUG = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
IRI = st.one_of(
    st.builds(lambda s: f"http://example.com/{s}", SLUG),
    st.builds(lambda s: f"https://ex.org/a/{s}?q=1#f", SLUG),
    st.builds(lambda s: f"urn:x-test:{s}", SLUG),
    st.sampled_from(["http://adlnet.gov/expapi/verbs/completed", "http://example.com/فعل"]),
)
TAGS = st.sampled_from(["en", "en-US", "de-DE", "zh-Hant", "sr-Latn-RS", "cmn", "es-419",
                        "x-private", "i-klingon", "fr-CA"])
LANG_MAP = st.dictionaries(TAGS, st.text(max_size=20), min_size=1, max_size=3)
UUID = st.uuids().map(str)
TEXT = st.text(max_size=20)
NUMBER = st.one_of(st.integers(-1000, 1000), st.floats(-1000, 1000, allow_nan=False))
EXTENSIONS = st.dictionaries(IRI, st.recursive(
    st.none() | st.booleans() | NUMBER | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6), max_size=3)
TIMESTAMP = st.datetimes(timezones=st.just(timezone.utc)).map(
    lambda d: d.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
DURATION = st.one_of(
    st.builds(lambda w: f"P{w}W", st.integers(0, 99)),
    st.builds(lambda h, m, s: f"PT{h}H{m}M{s}S", st.integers(0, 99), st.integers(0, 59),
              st.decimals(0, 59, places=2).map(str)),
    st.builds(lambda y, d: f"P{y}Y{d}D", st.integers(0, 9), st.integers(0, 30)),
)


def _maybe(strategy):
    return st.one_of(st.just(None), strategy)


def _clean(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


IFI = st.one_of(
    st.builds(lambda s: {"mbox": f"mailto:{s}@example.com"}, SLUG),
    st.builds(lambda h: {"mbox_sha1sum": h}, st.text("0123456789abcdef", min_size=40, max_size=40)),
    st.builds(lambda i: {"openid": i}, IRI),
    st.builds(lambda h, n: {"account": {"homePage": h, "name": n}}, IRI, TEXT),
)


@st.composite
def agents(draw, object_type=None):
    agent = dict(draw(IFI))
    name = draw(_maybe(TEXT))
    if name is not None:
        agent["name"] = name
    kind = object_type or draw(_maybe(st.just("Agent")))
    if kind:
        agent["objectType"] = kind
    return agent


@st.composite
def groups(draw):
    group = {"objectType": "Group"}
    identified = draw(st.booleans())
    if identified:
        group.update(draw(IFI))
    members = draw(st.lists(agents(), min_size=0 if identified else 1, max_size=3))
    if members or not identified:
        group["member"] = members
    return group


ACTORS = st.one_of(agents(), groups())


@st.composite
def definitions(draw):
    d = _clean({"name": draw(_maybe(LANG_MAP)), "description": draw(_maybe(LANG_MAP)),
                "type": draw(_maybe(IRI)), "moreInfo": draw(_maybe(IRI)),
                "extensions": draw(_maybe(EXTENSIONS))})
    kind = draw(_maybe(st.sampled_from(["true-false", "choice", "fill-in", "long-fill-in",
                                        "matching", "performance", "sequencing", "likert",
                                        "numeric", "other"])))
    if kind:
        d["interactionType"] = kind
        if draw(st.booleans()):
            d["correctResponsesPattern"] = draw(st.lists(TEXT, max_size=3))
        lists = {"choice": ["choices"], "sequencing": ["choices"], "likert": ["scale"],
                 "matching": ["source", "target"], "performance": ["steps"]}.get(kind, [])
        for name in lists:
            ids = draw(st.lists(SLUG, max_size=4, unique=True))
            d[name] = [_clean({"id": i, "description": draw(_maybe(LANG_MAP))}) for i in ids]
    return d


@st.composite
def activities(draw):
    a = {"id": draw(IRI)}
    if draw(st.booleans()):
        a["objectType"] = "Activity"
    definition = draw(_maybe(definitions()))
    if definition:  # 1.0.3 refuses an empty one (Data 2.2), 2.0 takes it
        a["definition"] = definition
    return a


@st.composite
def results(draw):
    score = None
    if draw(st.booleans()):
        low = draw(st.integers(-100, 0))
        high = draw(st.integers(1, 100))
        score = _clean({"scaled": draw(_maybe(st.floats(-1, 1))), "min": low, "max": high,
                        "raw": draw(_maybe(st.integers(low, high)))})
    return _clean({"score": score, "success": draw(_maybe(st.booleans())),
                   "completion": draw(_maybe(st.booleans())), "response": draw(_maybe(TEXT)),
                   "duration": draw(_maybe(DURATION)), "extensions": draw(_maybe(EXTENSIONS))})


@st.composite
def contexts(draw, version, object_is_activity):
    ca = draw(_maybe(st.dictionaries(
        st.sampled_from(["parent", "grouping", "category", "other"]),
        st.one_of(activities(), st.lists(activities(), max_size=2)), min_size=1, max_size=4)))
    c = _clean({
        "registration": draw(_maybe(UUID)), "instructor": draw(_maybe(ACTORS)),
        "team": draw(_maybe(groups())), "contextActivities": ca,
        "language": draw(_maybe(TAGS)), "extensions": draw(_maybe(EXTENSIONS)),
        "statement": draw(_maybe(UUID.map(lambda u: {"objectType": "StatementRef", "id": u}))),
    })
    if object_is_activity:
        c.update(_clean({"revision": draw(_maybe(TEXT)), "platform": draw(_maybe(TEXT))}))
    if version == V2:
        c.update(_clean({
            "contextAgents": draw(_maybe(st.lists(st.builds(
                lambda a, r: _clean({"objectType": "contextAgent", "agent": a, "relevantTypes": r}),
                agents(), _maybe(st.lists(IRI, min_size=1, max_size=2))), max_size=2))),
            "contextGroups": draw(_maybe(st.lists(st.builds(
                lambda g, r: _clean({"objectType": "contextGroup", "group": g, "relevantTypes": r}),
                groups(), _maybe(st.lists(IRI, min_size=1, max_size=2))), max_size=2))),
        }))
    return c


ATTACHMENTS = st.lists(st.builds(
    lambda u, d, n, h, f: _clean({"usageType": u, "display": d, "contentType": "image/png",
                                  "length": n, "sha2": h, "fileUrl": f}),
    IRI, LANG_MAP, st.integers(0, 10**9), st.text("0123456789abcdef", min_size=64, max_size=64),
    _maybe(IRI)), max_size=2)


@st.composite
def statements(draw, version, sub=False):
    kind = draw(st.sampled_from(["Activity", "Agent", "Group", "StatementRef"]
                                + ([] if sub else ["SubStatement"])))
    if kind == "Activity":
        obj = draw(activities())
    elif kind == "Agent":
        obj = draw(agents(object_type="Agent"))
    elif kind == "Group":
        obj = draw(groups())
    elif kind == "StatementRef":
        obj = {"objectType": "StatementRef", "id": draw(UUID)}
    else:
        obj = dict(draw(statements(version, sub=True)), objectType="SubStatement")
    stmt = {"actor": draw(ACTORS), "verb": _clean({"id": draw(IRI), "display": draw(_maybe(LANG_MAP))}),
            "object": obj}
    stmt.update(_clean({"result": draw(_maybe(results())),
                        "context": draw(_maybe(contexts(version, kind == "Activity"))),
                        "timestamp": draw(_maybe(TIMESTAMP)),
                        "attachments": draw(_maybe(ATTACHMENTS))}))
    if not sub:
        stmt.update(_clean({"id": draw(_maybe(UUID)), "stored": draw(_maybe(TIMESTAMP)),
                            "authority": draw(_maybe(agents())),
                            "version": draw(_maybe(st.sampled_from(
                                ["1.0.0", "1.0.3", "1.0"] + (["2.0.0"] if version == V2 else []))))}))
        if stmt.get("version", "").startswith("1.") and _holds_2_0_context(stmt):
            stmt["version"] = "2.0.0"  # a 1.0.x statement cannot hold them
    return stmt


def _holds_2_0_context(stmt: dict) -> bool:
    contexts = [stmt.get("context") or {}, stmt["object"].get("context") or {}]
    return any(key in c for c in contexts for key in ("contextAgents", "contextGroups"))


@SETTINGS
@given(st.data())
def test_generated_statements_are_valid(data):
    version = data.draw(st.sampled_from([V1, V2]))
    stmt = data.draw(statements(version))
    before = copy.deepcopy(stmt)
    validate_statement(stmt, version)
    assert stmt == before
    # The same statement survives the wire: strict JSON, no duplicate keys.
    parsed = parse_json(orjson.dumps([stmt]), reject_duplicate_keys=True)
    assert validate_statements(parsed, version) == [stmt]


def _set(stmt, key, value):
    out = copy.deepcopy(stmt)
    out[key] = value
    return out


def _nested(stmt, outer, key, value):
    out = copy.deepcopy(stmt)
    out[outer] = dict(out[outer], **{key: value})
    return out


MUTATIONS = [
    (lambda s: _set(s, "extra", 1), "statement.extra"),
    (lambda s: _set(s, "Actor", s["actor"]), "statement.Actor"),
    (lambda s: _set(s, "id", "not-a-uuid"), "statement.id"),
    (lambda s: _set(s, "id", None), "statement.id"),
    (lambda s: _set(s, "timestamp", "yesterday"), "statement.timestamp"),
    (lambda s: _set(s, "stored", 5), "statement.stored"),
    (lambda s: _set(s, "version", "3.0.0"), "statement.version"),
    (lambda s: _set(s, "result", "done"), "statement.result"),
    (lambda s: _set(s, "context", []), "statement.context"),
    (lambda s: _set(s, "attachments", {}), "statement.attachments"),
    (lambda s: _set(s, "authority", {"objectType": "Agent"}), "statement.authority"),
    (lambda s: {k: v for k, v in s.items() if k != "verb"}, "statement.verb"),
    (lambda s: {k: v for k, v in s.items() if k != "actor"}, "statement.actor"),
    (lambda s: _nested(s, "verb", "id", "completed"), "statement.verb.id"),
    (lambda s: _nested(s, "verb", "display", {}), "statement.verb.display"),
    (lambda s: _nested(s, "actor", "mbox", "ann@example.com"), "statement.actor.mbox"),
    (lambda s: _nested(s, "actor", "name", None), "statement.actor.name"),
    (lambda s: _nested(s, "actor", "objectType", "agent"), "statement.actor.objectType"),
    (lambda s: _nested(s, "object", "objectType", "activity"), "statement.object.objectType"),
]


@SETTINGS
@given(st.data())
def test_mutations_fail_at_their_path(data):
    version = data.draw(st.sampled_from([V1, V2]))
    stmt = data.draw(statements(version))
    mutate, path = data.draw(st.sampled_from(MUTATIONS))
    broken = mutate(stmt)
    try:
        validate_statement(broken, version)
    except ValidationError as exc:
        assert exc.path == path, exc.message
    else:
        raise AssertionError(f"mutation at {path} was accepted")


@SETTINGS
@given(st.data())
def test_batch_with_repeated_id_fails(data):
    version = data.draw(st.sampled_from([V1, V2]))
    first = data.draw(statements(version))
    second = data.draw(statements(version))
    sid = data.draw(UUID)
    first["id"], second["id"] = sid, sid
    try:
        validate_statements([first, second], version)
    except ValidationError as exc:
        assert exc.path == "statement[1].id"
    else:
        raise AssertionError("duplicate ids accepted")
