"""The query parameters of GET /statements, parsed and checked
(xAPI 1.0.3 Communication 2.1.3, 2.0 LRS 4.1.6.1; GEN-07..10, STGET-*).

Pure: returns plain values; the HTTP layer hands them to the store."""

from __future__ import annotations

import dataclasses
import datetime as dt

from lrs.errors import BadRequest, ValidationError
from lrs.xapi.agents import agent_key
from lrs.xapi.formats import FORMATS
from lrs.xapi.formats_check import is_iri, is_uuid, parse_timestamp
from lrs.xapi.indexing import index_key
from lrs.xapi.jsonparse import parse_parameter
from lrs.xapi.validate import validate_agent

SINGLE_PARAMS = frozenset({"statementId", "voidedStatementId", "format", "attachments"})
LIST_PARAMS = frozenset({
    "agent", "verb", "activity", "registration", "related_activities", "related_agents",
    "since", "until", "limit", "format", "attachments", "ascending"})
ALL_PARAMS = SINGLE_PARAMS | LIST_PARAMS


@dataclasses.dataclass(frozen=True)
class Single:
    statement_id: str
    voided: bool
    format: str
    attachments: bool


@dataclasses.dataclass(frozen=True)
class Listing:
    filters: dict  # keyword arguments of the store's StatementFilter
    limit: int
    format: str
    attachments: bool


def parse(params: dict[str, str], version: str, *, page_limit: int) -> Single | Listing:
    fmt = params.get("format", "exact")
    if fmt not in FORMATS:
        raise BadRequest(f"parameter 'format' must be one of {', '.join(FORMATS)}", field="format")
    with_attachments = _boolean(params, "attachments")
    ids = [name for name in ("statementId", "voidedStatementId") if name in params]
    if ids:
        return _single(params, ids, fmt, with_attachments)
    return Listing(_filters(params, version), _limit(params, page_limit), fmt, with_attachments)


def _single(params: dict[str, str], ids: list[str], fmt: str, with_attachments: bool) -> Single:
    # STGET-04/05: one id, and nothing but format and attachments beside it.
    if len(ids) > 1:
        raise BadRequest("give statementId or voidedStatementId, not both", field=ids[1])
    others = sorted(set(params) - SINGLE_PARAMS)
    if others:
        raise BadRequest(f"parameter {others[0]!r} cannot be combined with {ids[0]}",
                         field=others[0])
    value = params[ids[0]]
    if not is_uuid(value):
        raise BadRequest(f"parameter {ids[0]!r} must be a UUID", field=ids[0])
    return Single(value.lower(), ids[0] == "voidedStatementId", fmt, with_attachments)


def _filters(params: dict[str, str], version: str) -> dict:
    filters: dict = {}
    if "agent" in params:
        filters["agent"] = agent_param(params["agent"], version)
    for name in ("verb", "activity"):
        if name in params:
            if not is_iri(params[name]):
                raise BadRequest(f"parameter {name!r} must be an IRI", field=name)
            filters[name] = index_key(params[name])
    if "registration" in params:
        if not is_uuid(params["registration"]):
            raise BadRequest("parameter 'registration' must be a UUID", field="registration")
        filters["registration"] = params["registration"].lower()
    for name in ("since", "until"):
        if name in params:
            filters[name] = _timestamp(params[name], name, version)
    for name in ("related_activities", "related_agents", "ascending"):
        filters[name] = _boolean(params, name)
    return filters


def agent_param(raw: str, version: str, name: str = "agent") -> str:
    """An `agent` parameter (JSON Agent or identified Group) as its key."""
    agent = parse_parameter(raw, name, "a JSON Agent or Group object")
    validate_agent(agent, version, name)
    return index_key(agent_key(agent))


def _timestamp(raw: str, name: str, version: str) -> dt.datetime:
    try:
        return parse_timestamp(raw, name, version)
    except ValidationError as exc:
        raise BadRequest(f"parameter {name!r} must be an ISO 8601 timestamp: {exc.rule}",
                         field=name) from None


def _boolean(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "false")
    if value not in ("true", "false"):
        raise BadRequest(f"parameter {name!r} must be true or false", field=name)
    return value == "true"


def _limit(params: dict[str, str], page_limit: int) -> int:
    raw = params.get("limit", "0")
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    if not (raw.isascii() and raw.isdigit()):
        raise BadRequest("parameter 'limit' must be a non-negative integer", field="limit")
    # Leading zeros stripped and any 10 digits or more read as "past the
    # cap": int() refuses more than 4,300 digits (a 500 otherwise).
    digits = raw.lstrip("0") or "0"
    limit = int(digits) if len(digits) < 10 else page_limit
    # STGET-16: 0 means the server's maximum, which also caps larger values.
    return page_limit if limit == 0 else min(limit, page_limit)
