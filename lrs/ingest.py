"""The statement write path as pure steps: body -> validated statements ->
prepared, indexed batch for the store (STYLE.md habit 4).

parse (JSON or multipart/mixed) -> validate -> match attachments and verify
signatures -> prepare (id, timestamp, authority, version) -> index rows."""

from __future__ import annotations

import dataclasses

from lrs.auth.principal import Principal
from lrs.errors import BadRequest, PayloadTooLarge, ValidationError
from lrs.store.statement_insert import PendingStatement, WriteBatch, definable, stored_payload
from lrs.xapi import attachments, multipart, signature
from lrs.xapi.agents import matching_keys
from lrs.xapi.indexing import activity_definitions, statement_activities, statement_index
from lrs.xapi.jsonparse import parse_json
from lrs.xapi.prepare import new_statement_ids, prepare_statement, utc_now_iso
from lrs.xapi.validate import validate_statement, validate_statements
from lrs.xapi.versions import V2


@dataclasses.dataclass(slots=True)
class Received:
    statements: list[dict]
    parts: dict[str, multipart.Part]  # attachment contents by SHA-2
    # No string in the statements holds U+0000: JSON can only write it as
    # the escape \u0000, and the body has none.
    nul_free: bool = False


def _split_body(body: bytes,
                content_type: str) -> tuple[bytes, list[multipart.Part] | None]:
    """The statements' JSON and the attachment parts (None: not multipart)."""
    media = multipart.media_type(content_type) if content_type else ""
    if media == "multipart/mixed":
        return multipart.parse_multipart(body, content_type)
    if media == "application/json":
        return body, None
    # xAPI 1.0.3 Communication 1.5, 2.0 LRS 4.1.3: statements arrive as
    # application/json or multipart/mixed.
    raise BadRequest(f"Content-Type {content_type or '(none)'!r} is not accepted for "
                     "statements: send application/json or multipart/mixed",
                     field="Content-Type")


def receive(body: bytes, content_type: str, version: str, *, max_statements: int,
            statement_id: str | None = None) -> Received:
    """Parse and validate a PUT (with `statement_id`) or POST body."""
    first, parts = _split_body(body, content_type)
    # SV-08: 2.0 requires rejecting duplicate keys; 1.0.3 leaves it undefined.
    payload = parse_json(first, reject_duplicate_keys=version == V2)
    if statement_id is None:
        statements = validate_statements(payload, version)
    else:
        statements = [_put_statement(payload, version, statement_id)]
    if len(statements) > max_statements:
        raise PayloadTooLarge(f"{len(statements)} statements in one request; the limit is "
                              f"{max_statements}", field="statement")
    if parts is not None:
        _check_part_content_types(parts)
        by_sha2 = attachments.match_attachments(statements, parts)
    else:
        attachments.require_file_urls(statements)
        by_sha2 = {}
    signature.verify_signed_statements(statements, by_sha2)
    return Received(statements, by_sha2, nul_free=b"\\u0000" not in first)


def _check_part_content_types(parts: list[multipart.Part]) -> None:
    """The Content-Type of a part is sent back as a header when the statement
    is read with attachments=true, so it must be one: RFC 2045 media types
    and their parameters are ASCII (RFC 2231 encodes anything else)."""
    for part in parts:
        value = part.content_type
        if value is not None and not (value.isascii() and value.isprintable()):
            raise BadRequest(f"multipart part {part.index}: Content-Type must be printable "
                             "ASCII (RFC 2045; use RFC 2231 encoding for other characters)",
                             field="Content-Type")


def _put_statement(payload: object, version: str, statement_id: str) -> dict:
    """PUT stores exactly one statement, whose id (if any) is statementId."""
    if not isinstance(payload, dict):
        raise ValidationError("statement", "a PUT body must be one statement object")
    validate_statement(payload, version)
    given = payload.get("id")
    if given is not None and given.lower() != statement_id.lower():
        raise ValidationError("statement.id", "must equal the statementId parameter")
    return dict(payload, id=statement_id.lower()) if given is None else payload


def batch(received: Received, *, version: str, principal: Principal) -> WriteBatch:
    now = utc_now_iso()
    new_ids = iter(new_statement_ids(sum("id" not in s for s in received.statements)))
    # prepare_statement gives every statement the principal's authority.
    authority_keys = tuple(matching_keys(principal.authority))
    pending = []
    for stmt in received.statements:
        prepared = prepare_statement(stmt, version=version, authority=principal.authority,
                                     now_iso=now, new_id=None if "id" in stmt else next(new_ids))
        found = statement_activities(prepared)
        assign_timestamp = "timestamp" not in stmt
        pending.append(PendingStatement(
            id=prepared["id"].lower(),
            statement=prepared,
            assign_timestamp=assign_timestamp,
            payload=stored_payload(prepared, assign_timestamp=assign_timestamp),
            index=statement_index(prepared, authority_keys=authority_keys,
                                  activity_objects=found),
            definitions=definable(activity_definitions(prepared, activity_objects=found),
                                  nul_free=received.nul_free),
            # The attachments whose data came with this request, a
            # SubStatement's too: attachments=true sends all of those. Not a
            # fileUrl-only attachment's, though the tenant may hold data of
            # that sha2 from another statement: a statements/read/mine
            # credential could read any attachment it knew the hash of.
            attachment_sha2=sorted({sha2 for _, a in attachments.iter_attachments([prepared])
                                    if (sha2 := a["sha2"].lower()) in received.parts})
            if received.parts else [],
        ))
    contents = [(sha2, part.content_type or "application/octet-stream", part.body)
                for sha2, part in received.parts.items()]
    return WriteBatch(
        tenant_id=principal.tenant_id, tenant=principal.tenant,
        credential=principal.credential, version=version,
        define=principal.can("define"), statements=pending, attachments=contents)
