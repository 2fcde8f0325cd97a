"""Malformed xAPI requests, generated deterministically (for test_malformed.py).

Request `i` of a run comes from `random.Random(f"{seed}:{i}")`: the same seed
gives the same requests, in any order and from any thread. Each one is wrong in
a way the spec says an LRS must reject (the requirement is named in `why`), so
each must be answered 4xx and must store nothing; or, for the few marked
`should`, a way it says an LRS should reject: a miss is a missed
recommendation. Every body, and most query
strings, carry the run's marker, so that anything stored by mistake can be
found afterwards.

Only the Authorization header is left to the sender (unless the request is about
a bad one): the rest of each request is here."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlencode

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
EXAMPLE = "http://conformance.example.com"


@dataclass(frozen=True)
class Request:
    kind: str
    why: str  # what is wrong, and the requirement that makes it wrong
    method: str
    path: str  # relative to the LRS URL, query string included (already encoded)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    should: bool = False  # a SHOULD rejects it: if stored, it is statement(i) of its index


def _is_json(text: bytes) -> bool:
    def no_constant(name: str) -> Any:
        raise ValueError(name)

    try:
        json.loads(text, parse_constant=no_constant)  # NaN and Infinity are not JSON
    except ValueError:
        return False
    return True


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def _get(obj: Any, path: tuple) -> Any:
    for k in path:
        obj = obj[k]
    return obj


def _set(obj: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    _get(obj, path[:-1])[path[-1]] = value
    return obj


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _structural_positions(text: str) -> list[int]:
    """Offsets of JSON punctuation outside strings (where edits break the syntax)."""
    out, in_string, escaped = [], False, False
    for i, ch in enumerate(text):
        if in_string:
            escaped = ch == "\\" and not escaped
            in_string = escaped or ch != '"'
        elif ch == '"':
            in_string = True
        elif ch in "{}[]:,":
            out.append(i)
    return out


# kind -> weight: about 85% at the statements resource, 15% at documents.
KINDS = {"invalid_json": 12, "wrong_type": 12, "missing_property": 5, "unknown_property": 6,
         "bad_value": 12, "huge_value": 5, "deep_nesting": 5, "invalid_utf8": 6,
         "bad_header": 8, "bad_query": 10, "bad_multipart": 5, "wrong_method": 2,
         "document": 15}


class Generator:
    """`Generator(marker, registration, versions, seed).request(i)`."""

    def __init__(self, marker: str, registration: str, versions: tuple[str, ...], seed: int = 8):
        self.marker = marker
        self.registration = registration
        self.versions = versions
        self.seed = seed
        self.activity = f"{EXAMPLE}/{marker}/activity"
        self.agent = {"mbox": f"mailto:{marker}@conformance.example.com"}

    def request(self, i: int) -> Request:
        rng = random.Random(f"{self.seed}:{i}")
        kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        return getattr(self, f"_{kind}")(rng, i)

    # -- building blocks ----------------------------------------------------------------
    def statement(self, i: int) -> dict:
        """A valid statement using most properties, the marker in many places."""
        m = self.marker
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{m}/{i}")),
            "actor": {"objectType": "Agent", "name": m, **self.agent},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"en-US": m}},
            "object": {"objectType": "Activity", "id": self.activity,
                       "definition": {"name": {"en-US": m}, "description": {"en-US": m},
                                      "type": "http://adlnet.gov/expapi/activities/lesson"}},
            "result": {"score": {"scaled": 0.5, "raw": 5, "min": 0, "max": 10}, "success": True,
                       "completion": True, "response": m, "duration": "PT1M30S"},
            "context": {"registration": self.registration,
                        "instructor": {"mbox": f"mailto:{m}.instructor@conformance.example.com"},
                        "contextActivities": {"parent": [{"id": f"{EXAMPLE}/{m}/parent"}]},
                        "platform": m, "language": "en-US"},
            "timestamp": "2024-01-01T12:00:00.000Z",
        }

    def _headers(self, rng: random.Random, ctype: str | None = "application/json") -> dict[str, str]:
        h = {"X-Experience-API-Version": rng.choice(self.versions)}
        if ctype:
            h["Content-Type"] = ctype
        return h

    def _post(self, kind: str, why: str, rng: random.Random, body: bytes | str | dict | list,
              **headers: str) -> Request:
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogatepass")
        return Request(kind, why, "POST", "statements", {**self._headers(rng), **headers}, body)

    # -- the kinds ----------------------------------------------------------------------
    def _invalid_json(self, rng: random.Random, i: int) -> Request:
        text = json.dumps(self.statement(i) if rng.random() < 0.7 else [self.statement(i)] * 2)
        for _ in range(100):  # edits at punctuation break the syntax; check, as some might not
            pos = rng.choice(_structural_positions(text))
            edit = rng.choice(["truncate", "delete", "insert", "quote", "trailer"])
            if edit == "truncate":
                out = text[:max(pos, text.index(self.marker) + len(self.marker))]
            elif edit == "delete":
                out = text[:pos] + text[pos + 1:]
            elif edit == "insert":
                junk = rng.choice([",", ":", "'", "NaN", "undefined", "/* c */", "\\", "{", "]"])
                out = text[:pos] + junk + text[pos:]
            elif edit == "quote":
                out = text.replace('"', "'")
            else:
                out = text + rng.choice([" x", "}", ",", " {}", "\x00"])
            if self.marker in out and not _is_json(out.encode()):
                return self._post("invalid_json", f"{edit}: not JSON (ERR-01, GEN-10)", rng, out)
        raise AssertionError("no invalid JSON in 100 tries")  # pragma: no cover

    def _wrong_type(self, rng: random.Random, i: int) -> Request:
        s = self.statement(i)
        path = rng.choice(_paths(s))
        current = _json_type(_get(s, path))
        m = self.marker
        options = [v for v in (m, 7, 1.5, True, [m], {"x": m}, None) if _json_type(v) != current]
        if not path:  # the whole body: keep the marker in it
            options = [m, [m], [m, None, 7, True, [s]]]
        value = rng.choice(options)
        return self._post("wrong_type", f"{'.'.join(map(str, path)) or 'body'} = {value!r} "
                          "(SV-02/03, GEN-10)", rng, _set(s, path, value))

    def _missing_property(self, rng: random.Random, i: int) -> Request:
        s = self.statement(i)
        path = rng.choice([("actor",), ("verb",), ("object",), ("verb", "id"), ("object", "id"),
                           ("actor", "mbox"), ("context", "instructor", "mbox"),
                           ("context", "contextActivities", "parent", 0, "id")])
        del _get(s, path[:-1])[path[-1]]
        return self._post("missing_property", f"no {'.'.join(map(str, path))} (SV-01, SA-01, SO-02)",
                          rng, s)

    def _unknown_property(self, rng: random.Random, i: int) -> Request:
        s = self.statement(i)
        path = rng.choice([(), ("actor",), ("verb",), ("object",), ("object", "definition"),
                           ("result",), ("result", "score"), ("context",),
                           ("context", "contextActivities"), ("context", "instructor")])
        key = rng.choice(["conformanceUnknown", "Verb", "ID", "extension", "Result", "member_"])
        _get(s, path)[key] = self.marker
        return self._post("unknown_property", f"{'.'.join(path + (key,))} (SV-05/06, SC-03)", rng, s)

    def _bad_value(self, rng: random.Random, i: int) -> Request:
        m = self.marker
        path, value, rule = rng.choice([
            (("id",), "not-a-uuid", "SV-04"), (("id",), "", "SV-04"), (("id",), m, "SV-04"),
            (("timestamp",), "yesterday", "SV-04"), (("timestamp",), "", "SV-04"),
            (("timestamp",), "2024-13-45T25:61:00Z", "DT-02"),
            (("context", "registration"), m, "SV-04"), (("context", "registration"), "", "SV-04"),
            (("result", "duration"), "1 hour", "SR-04"), (("result", "duration"), "PT", "SR-04"),
            (("result", "duration"), "P1W1D", "SR-04"),
            (("actor", "mbox"), f"{m}@conformance.example.com", "SA-03"),
            (("actor", "mbox"), "mailto:", "SA-03"), (("verb", "id"), m, "SV-07"),
            (("verb", "id"), "", "SVB-01"), (("object", "id"), m, "SV-07"),
            (("object", "objectType"), "activity", "SV-05"), (("actor", "objectType"), "agent", "SV-05"),
            (("object", "objectType"), "Statement", "SV-14"),
            (("verb", "display"), {"not a tag!": m}, "DT-08"), (("verb", "display"), {"": m}, "DT-08"),
            (("result", "score", "scaled"), 1.5, "SR-02"), (("result", "score", "scaled"), -1.01, "SR-02"),
            (("result", "score", "raw"), 11, "SR-03"), (("result", "score", "min"), 20, "SR-03"),
            (("context", "language"), "not a tag!", "SC-01"),
            (("object", "definition", "type"), m, "SO-03"),
            (("object", "definition", "moreInfo"), m, "SO-03"),
            (("context", "instructor"), {"objectType": "Group", "name": m}, "SA-08"),
            (("actor",), {"objectType": "Group", "name": m, "member": [
                {"objectType": "Group", "member": [self.agent]}]}, "SA-10"),
            (("actor", "openid"), f"{EXAMPLE}/{m}", "SA-01"),
            (("verb", "id"), VOIDED, "IMM-04"),
        ])
        s = _set(self.statement(i), path, value)
        return self._post("bad_value", f"{'.'.join(path)} = {str(value)[:60]!r} ({rule})", rng, s)

    def _huge_value(self, rng: random.Random, i: int) -> Request:
        n = rng.choice([1_000, 10_000, 100_000, 250_000])
        m = self.marker
        path, value, rule = rng.choice([
            (("context", "registration"), m + "a" * n, "SV-04"),
            (("id",), "f" * n, "SV-04"),
            (("timestamp",), "2024-01-01T00:00:00Z" + "x" * n, "SV-04"),
            (("actor", "mbox"), m + "a" * n, "SA-03"),
            (("verb", "id"), m + "x" * n, "SV-07"),
            (("result", "duration"), "PT" + "1" * n + "X", "SR-04"),
            (("verb", "display"), {m + "x" * n: m}, "DT-08"),
            (("result", "score", "scaled"), 10 ** min(n, 4000), "SR-02"),
            (("context", "contextActivities", "parent"), [{"id": m}] * (n // 100), "SV-07"),
        ])
        s = _set(self.statement(i), path, value)
        return self._post("huge_value", f"{'.'.join(path)}: {n} long ({rule})", rng, s)

    def _deep_nesting(self, rng: random.Random, i: int) -> Request:
        depth = rng.choice([64, 512, 5_000, 100_000])
        m = json.dumps(self.marker)
        where, deep = rng.choice([
            ("body", "[" * depth + "{}" + "]" * depth),
            ("verb.id", "[" * depth + m + "]" * depth),
            ("result.score", '{"a":' * depth + m + "}" * depth),
            ("object.definition", "[" * depth),  # never closed
        ])
        s = self.statement(i)
        if where == "body":
            text = deep.replace("{}", json.dumps(s))
        else:
            path = tuple(where.split("."))
            text = json.dumps(_set(s, path, "__DEEP__")).replace('"__DEEP__"', deep)
        return self._post("deep_nesting", f"{where} nested {depth} deep (SV-03, ERR-01)", rng, text)

    def _invalid_utf8(self, rng: random.Random, i: int) -> Request:
        marker = self.marker.encode()
        body = json.dumps(self.statement(i)).encode()
        if rng.random() < 0.7:
            bad = rng.choice([b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf",
                              b"\xe2\x82", b"\xf8\x88\x80\x80\x80", b"\x80"])
            why = f"bytes {bad!r} (GEN-05)"
        else:  # well-formed JSON escapes of a lone surrogate: no Unicode string
            bad = rng.choice([b"\\ud800", b"\\udfff", b"\\ud800\\u0041"])
            why = f"escape {bad.decode()} (GEN-05)"
        # In one of the strings holding the marker.
        at = rng.choice([k for k in range(len(body)) if body.startswith(marker, k)]) + len(marker)
        return self._post("invalid_utf8", why, rng, body[:at] + bad + body[at:])

    def _bad_header(self, rng: random.Random, i: int) -> Request:
        body = json.dumps(self.statement(i))
        choice = rng.randrange(4)
        if choice == 0:
            v = rng.choice(["0.9", "0.95", "1.1.0", "1.1", "2.1.0", "2.1", "3.0.0", "banana", self.marker])
            return self._post("bad_header", f"version {v} (VER-05..10)", rng, body,
                              **{"X-Experience-API-Version": v})
        if choice == 1:
            auth = rng.choice([
                "Basic " + base64.b64encode(f"{self.marker}:wrong".encode()).decode(),
                "Basic " + base64.b64encode(self.marker.encode()).decode(),
                "Basic !!!" + self.marker, "Bearer " + self.marker, "Basic"])
            return self._post("bad_header", f"Authorization {auth[:24]!r} (AUTH-04: 401)", rng, body,
                              Authorization=auth)
        if choice == 2:
            ctype = rng.choice(["multipart/mixed", f"multipart/mixed; boundary={self.marker}"])
            return self._post("bad_header", f"Content-Type {ctype} on a JSON body (ATT-01, ATT-04)",
                              rng, body, **{"Content-Type": ctype})
        # 1.0.3 only (2.0 dropped the rule): JSON sent as something else.
        ctype = rng.choice(["text/plain", "application/xml", "image/png",
                            "application/x-www-form-urlencoded"])
        # A SHOULD* (1.0.3 Communication 3.2): the JSON is a valid statement.
        return replace(self._post("bad_header", f"1.0.3, Content-Type {ctype} (GEN-13)", rng, body,
                                  **{"Content-Type": ctype, "X-Experience-API-Version": "1.0.3"}),
                       should=True)

    def _bad_query(self, rng: random.Random, i: int) -> Request:
        s = self.statement(i)
        m = self.marker
        choice = rng.randrange(3)
        if choice == 0:  # POST, with a parameter POST does not have
            q = rng.choice([{"conformance": m}, {"StatementId": s["id"]}, {"statementId": s["id"]},
                            {"registration": self.registration}])
            return Request("bad_query", f"POST ?{urlencode(q)[:40]} (GEN-07/08)", "POST",
                           f"statements?{urlencode(q)}", self._headers(rng), json.dumps(s).encode())
        if choice == 1:  # PUT with a missing, malformed, mismatching or miscased statementId
            q, rule = rng.choice([({}, "STPUT-02"), ({"statementId": m}, "STPUT-02"),
                                  ({"statementId": str(uuid.uuid5(uuid.NAMESPACE_OID, m))}, "STPUT-03"),
                                  ({"StatementId": s["id"]}, "GEN-08"),
                                  ({"statementId": s["id"], "verb": s["verb"]["id"]}, "GEN-07")])
            body = json.dumps(s if rng.random() < 0.8 else [s])  # an array is never a PUT body
            return Request("bad_query", f"PUT ?{urlencode(q)[:40]} ({rule})", "PUT",
                           f"statements?{urlencode(q)}", self._headers(rng), body.encode())
        agent = json.dumps(self.agent)
        q = rng.choice([
            {"statementId": m}, {"voidedStatementId": m},
            {"statementId": s["id"], "voidedStatementId": s["id"]},
            {"statementId": s["id"], "verb": s["verb"]["id"]}, {"limit": "-1"}, {"limit": m},
            {"limit": "1.5"}, {"since": m}, {"until": "yesterday"}, {"agent": m},
            {"agent": json.dumps({"mbox": m})}, {"agent": json.dumps({**self.agent, "openid": EXAMPLE})},
            {"verb": m}, {"activity": m}, {"registration": m}, {"format": m}, {"format": "IDS"},
            {"ascending": "yes"}, {"attachments": "1"}, {"related_agents": "TRUE", "agent": agent},
            {"related_activities": m, "activity": self.activity}, {m: "1"}, {"Limit": "1"},
            {"Verb": s["verb"]["id"]}])
        query = urlencode(q)
        if rng.random() < 0.2:  # GEN-05: a value whose escapes are not UTF-8
            bad = rng.choice(["%FF", "%C3%28", "%ED%A0%80", "%C0%AF"])
            name, value = rng.choice([("verb", f"{EXAMPLE}/{m}"), ("activity", self.activity),
                                      ("registration", self.registration)])
            query = f"{name}={quote(value, safe='')}{bad}"
        return Request("bad_query", f"GET ?{query[:50]} (GEN-05, GEN-07..10, STGET-04/05/17)", "GET",
                       f"statements?{query}", self._headers(rng, None))

    def _bad_multipart(self, rng: random.Random, i: int) -> Request:
        s = self.statement(i)
        data = f"attachment {self.marker} {i}".encode()
        sha = hashlib.sha256(data).hexdigest()
        s["attachments"] = [{"usageType": f"{EXAMPLE}/usage", "display": {"en-US": self.marker},
                             "contentType": "text/plain", "length": len(data), "sha2": sha}]
        boundary = f"b{self.marker}"
        first_type, part_hash, parts, rule = "application/json", sha, [data], "ATT-01"
        fault = rng.choice(["no part", "wrong hash", "no hash header", "first part text",
                            "first part not JSON", "cut in the data"])
        if fault == "no part":
            parts, rule = [], "ATT-03"
        elif fault == "wrong hash":
            part_hash, rule = hashlib.sha256(data + b"x").hexdigest(), "ATT-03"
        elif fault == "no hash header":
            part_hash, rule = "", "ATT-04"
        elif fault == "first part text":
            first_type, rule = "text/plain", "ATT-04"
        out = f"--{boundary}\r\nContent-Type: {first_type}\r\n\r\n".encode()
        text = json.dumps(s)
        out += (text[:-3] if fault == "first part not JSON" else text).encode() + b"\r\n"
        for d in parts:
            out += f"--{boundary}\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n".encode()
            if part_hash:
                out += f"X-Experience-API-Hash: {part_hash}\r\n".encode()
            out += b"\r\n" + d + b"\r\n"
        out += f"--{boundary}--\r\n".encode()
        if fault == "cut in the data":
            out, rule = out[:out.rindex(data) + len(data) // 2], "ATT-03"
        return self._post("bad_multipart", f"{fault} ({rule})", rng, out,
                          **{"Content-Type": f'multipart/mixed; boundary="{boundary}"'})

    def _wrong_method(self, rng: random.Random, i: int) -> Request:
        method = rng.choice(["DELETE", "PATCH"])
        return Request("wrong_method", f"{method} /statements (ERR-01: 405)", method, "statements",
                       self._headers(rng), json.dumps(self.statement(i)).encode())

    def _document(self, rng: random.Random, i: int) -> Request:
        """Every document request names the marker activity, agent or document id."""
        m = self.marker
        resource, id_name = rng.choice([("activities/state", "stateId"),
                                        ("activities/profile", "profileId"),
                                        ("agents/profile", "profileId")])
        good = {"activities/state": {"activityId": self.activity, "agent": json.dumps(self.agent),
                                     "stateId": m},
                "activities/profile": {"activityId": self.activity, "profileId": m},
                "agents/profile": {"agent": json.dumps(self.agent), "profileId": m}}[resource]
        headers = self._headers(rng)
        method, body = rng.choice(["PUT", "POST"]), json.dumps({"marker": m}).encode()
        fault = rng.randrange(7)
        q, query_tail = dict(good), ""
        if fault == 0:
            gone = rng.choice(list(good))
            del q[gone]
            why = f"no {gone} (STATE-01, APROF-01, AGPROF-01)"
        elif fault == 1:  # activityId must be an IRI, registration a UUID, agent an Agent
            key = rng.choice([k for k in ("activityId", "agent") if k in q]
                             + (["registration"] if resource == "activities/state" else []))
            q[key] = m if key != "agent" else rng.choice([
                m, json.dumps({"mbox": m}), "[]", json.dumps({"name": m}),
                json.dumps({**self.agent, "openid": EXAMPLE})])
            why = f"{key} {q[key][:40]!r} (GEN-09, DOC-18)"
        elif fault == 2:
            query_tail, why = "%FF", f"{id_name} that is not UTF-8 (GEN-05)"
        elif fault == 3:
            q[rng.choice([m, "StateId" if id_name == "stateId" else "ProfileId", "registration_"])] = m
            why = "an unknown or miscased parameter (GEN-07/08)"
        elif fault == 4:
            headers["If-Match"] = f'"{m}"'
            why = "If-Match that matches nothing (DOC-05, DOC-07: 412)"
        elif fault == 5:
            body = b'{"marker": "' + m.encode() + b'", '  # merging what is not JSON
            method, why = "POST", "POST of invalid JSON (DOC-11)"
        else:
            headers["X-Experience-API-Version"] = rng.choice(["1.1.0", "2.1.0", "0.9", m])
            why = "bad version header (VER-10)"
        return Request("document", f"{method} {resource}: {why}", method,
                       f"{resource}?{urlencode(q)}{query_tail}", headers, body)
