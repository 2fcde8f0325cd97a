"""The rules of the document resources: State, Activity Profile, Agent
Profile (xAPI 1.0.3 Communication 2.2-2.7 and 3.1; 2.0 LRS 4.1.4, 4.1.6.2-6).

Pure: parameters in, a Target out; the current document and the request in,
the document to store (or an error) out. The store runs `plan_*` inside the
transaction that holds the row lock, so a precondition and the write it
guards are one atomic step.

Readings where the text leaves room:
- ETag: the hex SHA-1 of the stored bytes, in both versions. 1.0.3 3.1
  requires exactly that (DOC-04); 2.0 allows any ETag, and one rule for both
  lets a client read in one version and write in the other.
- If-Match / If-None-Match follow RFC 9110 13.1.1-2 (which obsoletes
  RFC 2616 14.24/14.26 cited by the spec) on PUT, POST and DELETE, State
  included, in both versions: If-Match is compared strongly, If-None-Match
  weakly, `*` means "a current document exists". A failure is 412 and
  changes nothing. A DELETE of all State documents (no stateId) is held to
  them as its URL's resource, the id list its GET answers with an ETag.
- 409 for a PUT with neither header over an existing document: Activity and
  Agent Profile in both versions; State only in 2.0. 1.0.3 3.1 "The State
  Resource will permit PUT, POST and DELETE requests without concurrency
  headers"; 2.0 LRS 4.1.4 lists State among the controlled resources and
  names no exemption (REQUIREMENTS DOC-08, STATE-07, N-04).
- A 1.0.x PUT with neither header that would create an Activity or Agent
  Profile document is 400. 1.0.3 3.1: "A Client making a PUT request to
  either the Agent Profile Resource or Activity Profile Resource MUST include
  the If-Match header or the If-None-Match header", and 3.2: 400 is "an
  invalid or missing argument". The text names an LRS answer only for an
  existing document (409, above); ADL reads the client MUST as one the LRS
  enforces (conformance suite issue #158; XAPI-00273 and the Activity
  Profile test expect 400; ADL's LRS answers 400). Rustici's TinCanPython
  and TinCan.NET create profiles with an unconditional PUT and cannot send
  either header, so `LRS_UNCONDITIONAL_PROFILE_PUT` lets an operator accept
  it (204). 2.0's LRS text has no such client rule here: 2.0 stores it.
- `since` beside a document id: 2.0 LRS 4.1.6.2 says "Not Allowed", so 400.
  1.0.3 defines `since` only for the id-list GET but lets an LRS recognize
  parameters beyond the text (Communication 3.2 note); there it is checked
  and then ignored, as the ADL 1.0.3 conformance suite expects (a State GET
  with stateId and since answers the document).
- A State request without `registration` addresses the documents stored
  without one, for id lists and DELETE of all too (STATE-06 open question;
  yetanalytics/lrsql reads it the same way).
- `agent` is an Agent, or for State an Identified Group too (the document is
  keyed by the IFI either way). 1.0.3 2.6 and 2.4 say the Agent Profile and
  Agents resources take an Agent "and not a Group".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import hashlib

import orjson

from lrs.errors import (BadRequest, Conflict, PayloadTooLarge, PreconditionFailed,
                        ValidationError)
from lrs.xapi import jsonparse
from lrs.xapi.agents import agent_key
from lrs.xapi.formats_check import is_iri, is_uuid, parse_timestamp
from lrs.xapi.validate import validate_agent
from lrs.xapi.versions import V1

STATE = "state"
ACTIVITY_PROFILE = "activity_profile"
AGENT_PROFILE = "agent_profile"

DEFAULT_CONTENT_TYPE = "application/octet-stream"
JSON_TYPE = "application/json"

READS = ("GET", "HEAD")
METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")


@dataclasses.dataclass(frozen=True)
class Kind:
    name: str
    id_param: str                  # stateId / profileId
    scope_params: tuple[str, ...]  # required beside the id
    optional: tuple[str, ...]      # registration (State only)
    delete_all: bool               # DELETE without an id removes the set


KINDS = {
    STATE: Kind(STATE, "stateId", ("activityId", "agent"), ("registration",), True),
    ACTIVITY_PROFILE: Kind(ACTIVITY_PROFILE, "profileId", ("activityId",), (), False),
    AGENT_PROFILE: Kind(AGENT_PROFILE, "profileId", ("agent",), (), False),
}


@dataclasses.dataclass(frozen=True)
class Target:
    """Which document (doc_id set) or which set of documents a request is about.
    Key parts a kind does not use are "" (see migrations/0003)."""

    kind: str
    activity_id: str = ""
    agent_key: str = ""
    registration: str = ""
    doc_id: str | None = None
    since: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Document:
    content_type: str
    content: bytes
    etag: str  # unquoted hex SHA-1
    updated: dt.datetime | None = None  # set by the store


@dataclasses.dataclass(frozen=True)
class Tag:
    opaque: str
    weak: bool = False


@dataclasses.dataclass(frozen=True)
class Preconditions:
    """The If-Match / If-None-Match headers: None when absent; a tuple of
    Tags, or ANY for `*`. If-Unmodified-Since / If-Modified-Since: None
    when absent or not an HTTP date (RFC 9110 13.1.3-4: then ignored)."""

    if_match: tuple[Tag, ...] | None = None
    if_none_match: tuple[Tag, ...] | None = None
    if_unmodified_since: dt.datetime | None = None
    if_modified_since: dt.datetime | None = None

    @property
    def given(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None


ANY: tuple[Tag, ...] = (Tag("*"),)


# --- parameters ----------------------------------------------------------------------

def params_for(kind: str, method: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """The parameters `method` accepts on `kind`, and those it requires."""
    k = KINDS[kind]
    allowed = {*k.scope_params, *k.optional, k.id_param}
    if method in READS:
        allowed.add("since")  # id-list GET; parse_target refuses it beside an id
    needs_id = method in ("PUT", "POST") or (method == "DELETE" and not k.delete_all)
    return frozenset(allowed), (*k.scope_params, *((k.id_param,) if needs_id else ()))


def parse_target(kind: str, params: dict[str, str], version: str) -> Target:
    """Check the (already allowed) parameters' values: 400 for a bad one."""
    k = KINDS[kind]
    fields: dict = {"kind": kind}
    if "activityId" in params:
        if not is_iri(params["activityId"]):
            raise BadRequest("parameter 'activityId' must be an IRI", field="activityId")
        fields["activity_id"] = params["activityId"]
    if "agent" in params:
        fields["agent_key"] = parse_agent(params["agent"], version,
                                          allow_group=kind == STATE)
        _no_nul(fields["agent_key"], "agent")
    if "registration" in params:
        if not is_uuid(params["registration"]):
            raise BadRequest("parameter 'registration' must be a UUID", field="registration")
        fields["registration"] = params["registration"].lower()
    doc_id = params.get(k.id_param)
    if doc_id is not None:
        if doc_id == "":
            raise BadRequest(f"parameter {k.id_param!r} must not be empty", field=k.id_param)
        _no_nul(doc_id, k.id_param)
        fields["doc_id"] = doc_id
    if "since" in params:
        since = _since(params["since"], version)
        if doc_id is None:
            fields["since"] = since
        elif version != V1:
            raise BadRequest(f"parameter 'since' cannot be combined with {k.id_param!r}",
                             field="since")
    _key_fits(fields, k.id_param)
    return Target(**fields)


# A document's address is its primary key (migrations/0003), and a B-tree
# entry holds at most 2,704 bytes (a third of a page), less if it does not
# compress. The spec sets no length; this is the LRS's limit, with room
# for the tenant, the kind and the entry's own overhead.
MAX_KEY_BYTES = 2_400
_KEY_PARTS = (("activity_id", "activityId"), ("agent_key", "agent"),
              ("registration", "registration"), ("doc_id", None))


# The ids of one set (a State set: an activity, agent and registration; an
# Activity's or an Agent's profiles) may take this many bytes in all: a GET
# of the set's ids lists them in one answer (xAPI has no paging for it), and
# 20,000 ids of 2.2 KB made 44 MB answers that took a worker's memory to
# 1.1 GB under 16 at once (fuzz round 5). Documents are created until the
# set holds this much (concurrent creates may pass it by a few ids).
MAX_SET_ID_BYTES = 1 << 20


def check_set_room(target: Target, set_id_bytes: int) -> None:
    """409 when creating `target` would take its set past MAX_SET_ID_BYTES;
    `set_id_bytes`: what the ids of its set take now."""
    if set_id_bytes + len(target.doc_id.encode()) > MAX_SET_ID_BYTES:
        raise Conflict(
            f"this {_SETS[target.kind]} already holds {set_id_bytes:,} bytes of "
            f"{KINDS[target.kind].id_param}s, and may hold {MAX_SET_ID_BYTES:,} "
            "(an LRS limit): delete documents of it before creating more")


_SETS = {STATE: "State set (activityId, agent, registration)",
         ACTIVITY_PROFILE: "Activity's profile set", AGENT_PROFILE: "Agent's profile set"}


def _key_fits(fields: dict, id_param: str) -> None:
    sizes = {param or id_param: len(fields[name].encode())
             for name, param in _KEY_PARTS if name in fields}
    if sum(sizes.values()) > MAX_KEY_BYTES:
        longest = max(sizes, key=sizes.__getitem__)
        raise BadRequest(
            f"parameter {longest!r} is too long: a document's activityId, agent and "
            f"{id_param} together may take at most {MAX_KEY_BYTES:,} bytes of UTF-8 "
            "(an LRS limit)", field=longest)


def _no_nul(value: str, name: str) -> None:
    # A document is kept under its id and agent as PostgreSQL text, which
    # cannot hold U+0000 (an IRI cannot either: activityId is refused as one).
    if "\x00" in value:
        raise BadRequest(f"parameter {name!r} must not contain the character U+0000",
                         field=name)


def parse_agent(raw: str, version: str, *, allow_group: bool, name: str = "agent") -> str:
    """An `agent` parameter (Agent JSON) as its IFI key (lrs.xapi.agents)."""
    agent = jsonparse.parse_parameter(raw, name, "a JSON Agent object")
    validate_agent(agent, version, name, allow_group=allow_group)
    return agent_key(agent)


def _since(raw: str, version: str) -> dt.datetime:
    try:
        return parse_timestamp(raw, "since", version)
    except ValidationError as exc:
        raise BadRequest(f"parameter 'since' must be a timestamp: {exc.rule}",
                         field="since") from None


# --- ETags and preconditions -----------------------------------------------------------

def etag_of(content: bytes) -> str:
    # 1.0.3 Communication 3.1 (DOC-04): "a hexadecimal string of the SHA-1
    # digest of the contents", lowercase.
    return hashlib.sha1(content).hexdigest()


def quoted(etag: str) -> str:
    # 1.0.3 3.1: the header is enclosed in quotes (RFC 2616 14.19).
    return f'"{etag}"'


def new_document(content_type: str | None, content: bytes) -> Document:
    return Document(content_type or DEFAULT_CONTENT_TYPE, content, etag_of(content))


def parse_preconditions(if_match: str | None, if_none_match: str | None,
                        if_unmodified_since: str | None = None,
                        if_modified_since: str | None = None) -> Preconditions:
    return Preconditions(_tags(if_match, "If-Match"), _tags(if_none_match, "If-None-Match"),
                         _parse_http_date(if_unmodified_since),
                         _parse_http_date(if_modified_since))


def _parse_http_date(header: str | None) -> dt.datetime | None:
    if header is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(header.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else None  # an HTTP date is GMT, said so


def _tags(header: str | None, name: str) -> tuple[Tag, ...] | None:
    # Present but blank is a list of no tags, as "," is (RFC 9110 5.6.1:
    # empty elements are ignored): If-Match then holds for nothing. Read as
    # absent, a blank If-Match let POST and DELETE through unconditionally.
    if header is None:
        return None
    if header.strip() == "*":
        return ANY
    tags = []
    for part in header.split(","):
        part = part.strip()
        weak = part.startswith(("W/", "w/"))
        if weak:
            part = part[2:]
        if part == "*":
            # RFC 9110 13.1.1-2: `*` stands alone. Read as one tag among
            # others, it would match nothing, and `"a", *` would let a PUT
            # overwrite the document the `*` was sent to protect.
            raise BadRequest(f"{name}: '*' must be the whole header, not one of a list "
                             "or weak (RFC 9110 13.1)", field=name)
        # Unquoted tags are a common client mistake; read them as meant.
        if len(part) >= 2 and part[0] == part[-1] == '"':
            part = part[1:-1]
        if part:
            tags.append(Tag(part, weak))
    return tuple(tags)


def check_preconditions(pre: Preconditions, current: Document | None, *, method: str,
                        kind: str, version: str, unconditional_create: bool = False) -> None:
    """412 when a precondition fails; 409 when a PUT would overwrite a
    document the client did not say it knows; 400 when a 1.0.x PUT would
    create a profile document without either header, unless
    `unconditional_create` (see the module docstring)."""
    check_unchanged(pre, current)
    etag = current.etag if current is not None else None
    if pre.if_none_match is not None and not _if_none_match_holds(pre.if_none_match, etag):
        raise PreconditionFailed("If-None-Match: the document exists (or matches); "
                                 "nothing was changed")
    if (method == "PUT" and not pre.given and current is not None
            and not (kind == STATE and version == V1)):
        raise Conflict(
            "the document already exists and the PUT sent neither If-Match nor "
            "If-None-Match: GET the document to check its current state, then PUT again "
            "with If-Match set to its ETag")
    if (method == "PUT" and not pre.given and current is None and kind != STATE
            and version == V1 and not unconditional_create):
        raise BadRequest(
            "a PUT to this profile resource must send If-None-Match: * to create the "
            "document, or If-Match with its ETag to replace it (xAPI 1.0.3 Communication 3.1)",
            field="If-None-Match")


def check_unchanged(pre: Preconditions, current: Document | None) -> None:
    """412 when If-Match does not match `current`, or without If-Match, when
    it changed after If-Unmodified-Since (RFC 9110 13.2.2 steps 1-2)."""
    etag = current.etag if current is not None else None
    if pre.if_match is not None and not _if_match_holds(pre.if_match, etag):
        raise PreconditionFailed(
            "If-Match does not match the current document"
            + ("" if etag else " (there is none)") + "; nothing was changed")
    if pre.if_match is None and _modified_since(current, pre.if_unmodified_since):
        raise PreconditionFailed("If-Unmodified-Since: the document changed after that time; "
                                 "nothing was changed")


def not_modified(pre: Preconditions, current: Document) -> bool:
    """Whether a GET of `current` is answered 304 (RFC 9110 13.2.2 steps
    3-4, after `check_unchanged`): If-None-Match matches it, or without
    If-None-Match, it has not changed since If-Modified-Since."""
    if pre.if_none_match is not None:
        return not _if_none_match_holds(pre.if_none_match, current.etag)
    return (pre.if_modified_since is not None
            and not _modified_since(current, pre.if_modified_since))


def _modified_since(current: Document | None, when: dt.datetime | None) -> bool:
    # Last-Modified says whole seconds: a change within the second it names
    # is not after it (RFC 9110 13.1.3-4 compare the header's own precision).
    if current is None or current.updated is None or when is None:
        return False
    return current.updated.replace(microsecond=0) > when


def _if_match_holds(tags: tuple[Tag, ...], etag: str | None) -> bool:
    # RFC 9110 13.1.1: strong comparison; `*` holds when a document exists.
    if etag is None:
        return False
    return tags == ANY or any(not t.weak and t.opaque == etag for t in tags)


def _if_none_match_holds(tags: tuple[Tag, ...], etag: str | None) -> bool:
    # RFC 9110 13.1.2: weak comparison; `*` fails when a document exists.
    if etag is None:
        return True
    return tags != ANY and all(t.opaque != etag for t in tags)


# --- what each write makes of the current document -------------------------------------

def plan_put(current: Document | None, *, sent: Document, pre: Preconditions,
             kind: str, version: str, unconditional_create: bool = False) -> Document:
    check_preconditions(pre, current, method="PUT", kind=kind, version=version,
                        unconditional_create=unconditional_create)
    return sent


def plan_post(current: Document | None, *, sent: Document, pre: Preconditions,
              kind: str, version: str, max_bytes: int | None = None) -> Document:
    """`max_bytes`: the most a stored document may hold (LRS_MAX_DOCUMENT_BYTES),
    which a merge must not pass either: else merges grow it without bound."""
    check_preconditions(pre, current, method="POST", kind=kind, version=version)
    if current is None:
        if is_json_type(sent.content_type):
            # 1.0.3 2.2 / 2.0 LRS 4.1.6.2: a posted document that "cannot be
            # parsed as a JSON Object" is 400, with or without a stored one
            # (ADL 1.0.3 suite XAPI-00314).
            _json_object(sent, "the posted document")
        return sent  # DOC-12: POST stores a new document as given
    merged = merge_json(current, sent)
    if max_bytes is not None and len(merged) > max_bytes:
        raise PayloadTooLarge(f"the merged document would be {len(merged)} bytes, past the "
                              f"limit of {max_bytes} bytes a document may hold")
    return new_document(JSON_TYPE, merged)


def plan_delete(current: Document | None, *, pre: Preconditions,
                kind: str, version: str) -> None:
    check_preconditions(pre, current, method="DELETE", kind=kind, version=version)


def id_list(doc_ids: list[str]) -> Document:
    """The id list a State or profile GET without a document id answers,
    as the resource it is: its ETag is the one a later DELETE of all the
    State documents is held to."""
    body = orjson.dumps(doc_ids)
    return Document(JSON_TYPE, body, etag_of(body), None)


def plan_delete_all(doc_ids: list[str], *, pre: Preconditions, kind: str, version: str) -> None:
    """DELETE of every State document of an activity and agent: If-Match
    and If-None-Match are about the URL's resource, the id list its GET
    answers, empty or not (RFC 9110 13.1.1-2; 2.0 LRS 4.1.4 "shall handle
    the If-Match header" on DELETE). So `If-Match: *` always holds, and a
    client deletes exactly the documents it listed by sending the list's
    ETag."""
    check_preconditions(pre, id_list(doc_ids), method="DELETE", kind=kind, version=version)


def is_json_type(content_type: str) -> bool:
    # N-08: media type parameters (charset) do not change the type.
    return content_type.split(";", 1)[0].strip().lower() == JSON_TYPE


def merge_json(current: Document, posted: Document) -> bytes:
    """1.0.3 Communication 2.2 / 2.0 LRS 4.1.6.2: each top-level property
    of the posted object replaces the stored one; nothing deeper is merged.
    400 when either side is not application/json or not a JSON object."""
    stored = _json_object(current, "the stored document")
    incoming = _json_object(posted, "the posted document")
    try:
        # jsonparse: integers beyond 64 bits stay exact, and a document
        # deeper than orjson writes (254 levels) is written by json.
        return jsonparse.dumps({**stored, **incoming})
    except RecursionError:
        raise BadRequest("cannot merge: the merged document nests too deeply") from None


def _json_object(document: Document, what: str) -> dict:
    if not is_json_type(document.content_type):
        raise BadRequest(f"cannot merge: {what} is {document.content_type!r}, not "
                         "application/json (use PUT to replace it)")
    try:
        value = jsonparse.strict_loads(document.content)
    except ValueError:
        raise BadRequest(f"cannot merge: {what} is not valid JSON") from None
    except RecursionError:
        raise BadRequest(f"cannot merge: {what} nests too deeply") from None
    if not isinstance(value, dict):
        raise BadRequest(f"cannot merge: {what} is not a JSON object")
    return value
