"""Helpers shared by the conformance tests: an xAPI HTTP client, statement
builders, multipart encoding/decoding, paging, and bounded polling.

Everything here talks to exactly one LRS (the configured URL) over HTTP.
Nothing in this module knows anything about the LRS implementation."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterable
from urllib.parse import urljoin, urlsplit

import httpx

VERSIONS = ("1.0.3", "2.0.0")
VERSION_HEADER = "X-Experience-API-Version"
CONSISTENT_THROUGH = "X-Experience-API-Consistent-Through"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
VERB_EXPERIENCED = "http://adlnet.gov/expapi/verbs/experienced"
VERB_ATTEMPTED = "http://adlnet.gov/expapi/verbs/attempted"
VERB_COMPLETED = "http://adlnet.gov/expapi/verbs/completed"

# How long a test waits for a write to become readable (an LRS MAY answer
# before statements can be retrieved: STPUT-06, STPOST-06).
CONSISTENCY_WAIT = float(os.environ.get("LRS_CONSISTENCY_WAIT", "10"))
# Scale of the high-throughput tests (1.0 = 8 clients x 25 batches x 20).
SCALE = float(os.environ.get("LRS_CONF_SCALE", "1.0"))


def _limit(name: str) -> int | None:
    """A request limit the user states: None when not given, 0 for none."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else None


# The LRS's request limits: past them it answers 413 (ERR-06). They are the
# LRS's choice (ERR-06: limits are free), so the user states them; unset, the
# tests that probe them skip; 0 means the LRS has no such limit.
MAX_BATCH = _limit("LRS_CONF_MAX_BATCH")
MAX_BODY = _limit("LRS_CONF_MAX_BODY")
# How many malformed requests test_malformed.py sends.
MALFORMED = int(os.environ.get("LRS_CONF_MALFORMED", "10000"))


@dataclass(frozen=True)
class Config:
    url: str
    key: str
    secret: str
    key_b: str | None
    secret_b: str | None
    versions: tuple[str, ...]
    # Optional credentials of tenant A: one that may read statements and do
    # nothing else (ERR-05), one whose requests are rate-limited (ERR-07).
    key_readonly: str | None = None
    secret_readonly: str | None = None
    key_limited: str | None = None
    secret_limited: str | None = None
    # Bearer tokens standing for those credentials (LRS_TOKEN, LRS_TOKEN_B,
    # ...): each one, when given, is sent instead of its key and secret.
    token: str | None = None
    token_b: str | None = None
    token_readonly: str | None = None
    token_limited: str | None = None

    def authorization(self, which: str = "") -> str | None:
        """The Authorization header value of one of the run's credentials
        ("" tenant A's, "b", "readonly", "limited"): its Bearer token when
        given, else Basic key:secret; None when it has neither."""
        suffix = f"_{which}" if which else ""
        token = getattr(self, f"token{suffix}")
        if token:
            return f"Bearer {token}"
        key = getattr(self, f"key{suffix}")
        return basic_authorization(key, getattr(self, f"secret{suffix}") or "") if key else None

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


def config_from_env() -> Config | None:
    url = os.environ.get("LRS_URL")
    if not url:
        return None
    if not url.endswith("/"):
        url += "/"
    versions = tuple(v.strip() for v in os.environ.get("LRS_VERSIONS", ",".join(VERSIONS)).split(",")
                     if v.strip())
    return Config(
        url=url,
        key=os.environ.get("LRS_KEY", ""),
        secret=os.environ.get("LRS_SECRET", ""),
        key_b=os.environ.get("LRS_KEY_B") or None,
        secret_b=os.environ.get("LRS_SECRET_B") or None,
        versions=versions,
        key_readonly=os.environ.get("LRS_KEY_READONLY") or None,
        secret_readonly=os.environ.get("LRS_SECRET_READONLY") or None,
        key_limited=os.environ.get("LRS_KEY_LIMITED") or None,
        secret_limited=os.environ.get("LRS_SECRET_LIMITED") or None,
        token=os.environ.get("LRS_TOKEN") or None,
        token_b=os.environ.get("LRS_TOKEN_B") or None,
        token_readonly=os.environ.get("LRS_TOKEN_READONLY") or None,
        token_limited=os.environ.get("LRS_TOKEN_LIMITED") or None,
    )


_SSL_CONTEXT = None


def _ssl_context():
    """One SSL context for every client: building one per client costs ~50 ms."""
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        _SSL_CONTEXT = httpx.create_ssl_context()
    return _SSL_CONTEXT


class XAPI:
    """A thin httpx wrapper: base URL, credentials, version header.

    The credentials are tenant A's (Bearer or Basic, Config.authorization),
    or `authorization` (a header value), or Basic `key`/`secret`; none with
    auth=False. Paths are relative to the LRS URL (`statements`,
    `activities/state`). Absolute-path references such as a `more` IRL are
    resolved against the LRS origin, and only ever against it."""

    def __init__(self, cfg: Config, version: str | None, key: str | None = None,
                 secret: str | None = None, auth: bool = True, timeout: float = 30.0,
                 authorization: str | None = None):
        self.cfg = cfg
        self.version = version
        if key is not None:
            authorization = basic_authorization(key, secret or "")
        elif authorization is None:
            authorization = cfg.authorization()
        self.http = httpx.Client(
            headers={"Authorization": authorization} if auth and authorization else None,
            timeout=timeout,
            verify=_ssl_context(),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=8),
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "XAPI":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            target = path
        elif path.startswith("/"):
            target = urljoin(self.cfg.origin, path)
        else:
            target = urljoin(self.cfg.url, path)
        # Never contact anything but the LRS under test.
        assert urlsplit(target).netloc == urlsplit(self.cfg.url).netloc, target
        return target

    def request(self, method: str, path: str, *, params: Any = None,
                headers: dict | list[tuple[str, str]] | None = None,
                json_body: Any = None, content: bytes | str | None = None,
                version: str | None | bool = True) -> httpx.Response:
        """`headers` as a dict replaces the defaults; as a list of pairs, its
        lines are sent after them as they are, a name repeated if it is."""
        h: dict[str, str] = {}
        v = self.version if version is True else version
        if v:
            h[VERSION_HEADER] = v
        if json_body is not None:
            content = json.dumps(json_body).encode("utf-8")
            h["Content-Type"] = "application/json"
        sent: dict | list = h
        if isinstance(headers, dict):
            h.update(headers)
        elif headers:
            sent = [*h.items(), *headers]
        return self.http.request(method, self.url(path), params=params, headers=sent,
                                 content=content)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def head(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("HEAD", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    # -- statements -----------------------------------------------------------------
    def post_statements(self, body: Any, **kw: Any) -> httpx.Response:
        return self.post("statements", json_body=body, **kw)

    def put_statement(self, stmt: dict, statement_id: str | None = None, **kw: Any) -> httpx.Response:
        sid = statement_id or stmt["id"]
        return self.put("statements", params={"statementId": sid}, json_body=stmt, **kw)

    def get_statement(self, sid: str, voided: bool = False, **params: Any) -> httpx.Response:
        key = "voidedStatementId" if voided else "statementId"
        return self.get("statements", params={key: sid, **params})

    def store(self, stmts: list[dict] | dict) -> list[str]:
        """POST and insist on 200; return the ids."""
        r = self.post_statements(stmts)
        assert r.status_code == 200, f"POST statements: {r.status_code} {r.text[:500]}"
        return r.json()

    def wait_for_statement(self, sid: str, voided: bool = False,
                           timeout: float = CONSISTENCY_WAIT) -> httpx.Response:
        """GET until 200 (bounded): the LRS may answer writes before they are readable."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.get_statement(sid, voided=voided)
            if r.status_code != 404 or time.monotonic() > deadline:
                return r
            time.sleep(0.1)

    def wait_gone(self, sid: str, timeout: float = CONSISTENCY_WAIT) -> httpx.Response:
        """GET by statementId until 404 (bounded): used after voiding."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.get_statement(sid)
            if r.status_code == 404 or time.monotonic() > deadline:
                return r
            time.sleep(0.1)

    def fetch_all(self, params: dict, *, max_pages: int = 2000, timeout: float = 120.0,
                  check: bool = True,
                  between_pages: Callable[[], None] | None = None) -> tuple[list[dict], list[dict]]:
        """Follow `more` to the end. Returns (statements, pages).

        Each page is checked: 200, a StatementResult, `more` a relative IRL.
        Bounded in pages and time. `between_pages` is called before each
        `more` is followed."""
        statements: list[dict] = []
        pages: list[dict] = []
        r = self.get("statements", params=params)
        deadline = time.monotonic() + timeout
        for _ in range(max_pages):
            assert r.status_code == 200, f"GET {r.request.url}: {r.status_code} {r.text[:300]}"
            body = r.json()
            if check:
                assert_statement_result(body)
            pages.append(body)
            statements.extend(body["statements"])
            more = body.get("more") or ""
            if not more:
                return statements, pages
            assert time.monotonic() < deadline, "paging did not finish within the time bound"
            if between_pages:
                between_pages()
            r = self.get(more)
        raise AssertionError(f"more than {max_pages} pages")

    def query_ids(self, params: dict, **kw: Any) -> list[str]:
        stmts, _ = self.fetch_all(params, **kw)
        return [s["id"] for s in stmts]

    def wait_for_count(self, params: dict, expected: int, timeout: float = CONSISTENCY_WAIT,
                       **kw: Any) -> list[str]:
        """Page through a query until it holds `expected` statements (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            ids = self.query_ids(params, **kw)
            if len(ids) >= expected or time.monotonic() > deadline:
                return ids
            time.sleep(0.2)


# -- assertions ---------------------------------------------------------------------

def assert_relative_more(more: str) -> None:
    parts = urlsplit(more)
    assert not parts.scheme and not parts.netloc, f"`more` must be a relative IRL: {more!r}"
    assert more.startswith("/"), f"`more` must include the full path (P2 2.5): {more!r}"


def assert_statement_result(body: Any) -> None:
    assert isinstance(body, dict), body
    assert isinstance(body.get("statements"), list), body
    assert set(body) <= {"statements", "more"}, f"unexpected StatementResult keys: {sorted(body)}"
    more = body.get("more", "")
    assert isinstance(more, str), body
    if more:
        assert_relative_more(more)


def assert_json_error(r: httpx.Response) -> Any:
    ctype = r.headers.get("content-type", "")
    assert ctype.split(";")[0].strip() == "application/json", \
        f"error body Content-Type is {ctype!r}, not application/json: {r.text[:200]}"
    try:
        return r.json()
    except ValueError as e:  # pragma: no cover - diagnostic
        raise AssertionError(f"error body is not JSON: {r.text[:200]}") from e


def assert_status(r: httpx.Response, *codes: int, rule: str = "") -> None:
    """`rule`: the requirement id(s) the status is for, when the test checks
    others too ("STPUT-05"), so that a failure is reported against them only."""
    assert r.status_code in codes, (
        (f"{rule}: " if rule else "")
        + f"{r.request.method} {r.request.url} -> {r.status_code}, expected {codes}: {r.text[:400]}")


def parse_iso(ts: str) -> datetime:
    s = ts.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    # Python < 3.11 does not accept more than 6 fractional digits; trim them.
    if "." in s:
        head, frac = s.split(".", 1)
        digits = ""
        rest = ""
        for i, ch in enumerate(frac):
            if ch.isdigit():
                digits += ch
            else:
                rest = frac[i:]
                break
        s = f"{head}.{digits[:6]}{rest}"
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


def parse_http_date(value: str) -> datetime:
    return parsedate_to_datetime(value)


# -- builders -----------------------------------------------------------------------

def new_id() -> str:
    return str(uuid.uuid4())


# How clients write a JSON body: compact (JSON.stringify, Jackson, orjson);
# Python's json.dumps with its defaults (", " and ": "); PHP's json_encode
# with its defaults (compact, every "/" as "\/": Moodle's logstore_xapi).
CLIENT_STYLES = ("compact", "python", "php")


def client_json(value: Any, style: str = "compact") -> str:
    """`value` as JSON, written the way a client of `style` writes it."""
    if style == "python":
        return json.dumps(value)
    text = json.dumps(value, separators=(",", ":"))
    return text.replace("/", "\\/") if style == "php" else text


def basic_authorization(key: str, secret: str) -> str:
    """An HTTP Basic Authorization header value."""
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


class Factory:
    """Builds statements, agents and activity ids scoped to one test run."""

    def __init__(self, run_id: str):
        self.run = run_id
        self.base = f"http://conformance.example.com/{run_id}"

    def activity_id(self, name: str = "") -> str:
        return f"{self.base}/activity/{name or uuid.uuid4().hex}"

    def agent(self, name: str = "") -> dict:
        tag = name or uuid.uuid4().hex[:10]
        return {"objectType": "Agent", "name": f"Agent {tag}",
                "mbox": f"mailto:{tag}.{self.run}@conformance.example.com"}

    def account_agent(self, name: str = "") -> dict:
        tag = name or uuid.uuid4().hex[:10]
        return {"objectType": "Agent",
                "account": {"homePage": "http://conformance.example.com/accounts", "name": f"{tag}-{self.run}"}}

    def statement(self, *, registration: str | None = None, actor: dict | None = None,
                  verb: str = VERB_EXPERIENCED, activity: str | None = None,
                  with_id: bool = True, **extra: Any) -> dict:
        s: dict[str, Any] = {
            "actor": actor or self.agent(),
            "verb": {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[-1]}},
            "object": {
                "objectType": "Activity",
                "id": activity or self.activity_id(),
                "definition": {"name": {"en-US": "Conformance activity"},
                               "type": "http://adlnet.gov/expapi/activities/lesson"},
            },
        }
        if with_id:
            s["id"] = new_id()
        if registration:
            s["context"] = {"registration": registration}
        for k, v in extra.items():
            s[k] = v
        return s

    def voiding(self, target: str, *, registration: str | None = None, actor: dict | None = None,
                with_id: bool = True) -> dict:
        s: dict[str, Any] = {
            "actor": actor or self.agent(),
            "verb": {"id": VOIDED, "display": {"en-US": "voided"}},
            "object": {"objectType": "StatementRef", "id": target},
        }
        if with_id:
            s["id"] = new_id()
        if registration:
            s["context"] = {"registration": registration}
        return s


def deep(obj: Any) -> Any:
    return copy.deepcopy(obj)


def ids_of(stmts: Iterable[dict]) -> list[str]:
    return [s["id"] for s in stmts]


def poll(fn: Callable[[], Any], pred: Callable[[Any], bool], timeout: float = CONSISTENCY_WAIT,
         interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if pred(value) or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# -- multipart/mixed ----------------------------------------------------------------

def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def attachment_object(data: bytes, content_type: str = "text/plain", *,
                      usage: str = "http://conformance.example.com/usage/file",
                      file_url: str | None = None) -> dict:
    a = {
        "usageType": usage,
        "display": {"en-US": "conformance attachment"},
        "contentType": content_type,
        "length": len(data),
        "sha2": sha256_hex(data),
    }
    if file_url:
        a["fileUrl"] = file_url
    return a


def encode_multipart(body: Any, parts: list[tuple[bytes, str]], *,
                     hash_header: bool = True, content_length: bool = False,
                     hashes: list[str | None] | None = None, encoding: str = "binary",
                     first_type: str = "application/json") -> tuple[bytes, str]:
    """First part: the statement JSON (Content-Type `first_type`). Then one
    part per (data, content_type), with Content-Transfer-Encoding `encoding`,
    X-Experience-API-Hash the SHA-256 of its data (or `hashes[i]` when given,
    None for no header; none at all without `hash_header`) and a
    Content-Length header if `content_length`."""
    boundary = "conformance-" + uuid.uuid4().hex
    out = bytearray()
    out += f"--{boundary}\r\nContent-Type: {first_type}\r\n\r\n".encode()
    out += json.dumps(body).encode("utf-8")
    out += b"\r\n"
    for i, (data, ctype) in enumerate(parts):
        out += f"--{boundary}\r\nContent-Type: {ctype}\r\nContent-Transfer-Encoding: {encoding}\r\n".encode()
        value = sha256_hex(data) if hashes is None else hashes[i]
        if hash_header and value is not None:
            out += f"X-Experience-API-Hash: {value}\r\n".encode()
        if content_length:
            out += f"Content-Length: {len(data)}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f'multipart/mixed; boundary="{boundary}"'


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    main, *params = value.split(";")
    out: dict[str, str] = {}
    for p in params:
        if "=" in p:
            k, v = p.split("=", 1)
            out[k.strip().lower()] = v.strip().strip('"')
    return main.strip().lower(), out


def decode_multipart(content_type: str, body: bytes) -> list[tuple[dict[str, str], bytes]]:
    """Return [(lower-cased headers, data)] for each part."""
    mtype, params = parse_content_type(content_type)
    assert mtype == "multipart/mixed", f"expected multipart/mixed, got {content_type!r}"
    boundary = params.get("boundary")
    assert boundary, f"no boundary in {content_type!r}"
    delim = b"--" + boundary.encode()
    chunks = body.split(delim)
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        if chunk.endswith(b"\r\n"):
            chunk = chunk[:-2]
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            head, data = b"", chunk
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        parts.append((headers, data))
    return parts


# -- one statement by id ---------------------------------------------------------------

def single_statement(r: httpx.Response, sid: str) -> dict:
    """The Statement a GET by statementId or voidedStatementId answered with.

    xAPI 1.0.3 Communication §2.1.3, 2.0 LRS §4.1.6.1 (STGET-01/02): with
    either parameter "a single Statement is returned", the Statement itself,
    not a StatementResult holding it. Without this check a test indexing into
    another body fails with a bare KeyError that names no rule."""
    url = f"{r.request.method} {r.request.url}"
    assert r.status_code == 200, f"{url} -> {r.status_code}, expected 200: {r.text[:300]}"
    try:
        body = r.json()
    except ValueError:
        body = None
    # UUIDs compare without regard to case (RFC 4122 3).
    found = body.get("id") if isinstance(body, dict) else None
    rule = "STGET-02" if "voidedStatementId" in str(r.request.url) else "STGET-01"
    assert isinstance(found, str) and found.lower() == sid.lower(), (
        f"{rule}: {url} must return the Statement itself, a JSON object with \"id\": "
        f"\"{sid}\" (xAPI 1.0.3 Communication §2.1.3, 2.0 LRS §4.1.6.1: with statementId or "
        f"voidedStatementId a single Statement is returned, not a StatementResult); "
        f"got: {r.text[:300]}")
    return body


def read_statement(lrs: XAPI, sid: str, *, voided: bool = False, **params: Any) -> dict:
    """GET one statement by id (waiting, bounded, for it to be readable) and
    return it, checked by single_statement. `params`: format, attachments."""
    r = poll(lambda: lrs.get_statement(sid, voided=voided, **params),
             lambda r: r.status_code != 404)
    return single_statement(r, sid)


def read_with_attachments(lrs: XAPI, sid: str) -> list[tuple[dict[str, str], bytes]]:
    """The parts (headers, data) of GET statements?statementId=sid&attachments=true,
    once the statement is readable (waiting, bounded): the statement, then its
    attachments."""
    lrs.wait_for_statement(sid)
    got = lrs.get("statements", params={"statementId": sid, "attachments": "true"})
    assert_status(got, 200)
    return decode_multipart(got.headers.get("content-type", ""), got.content)
