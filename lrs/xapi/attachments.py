"""Attachment objects and the data that travels with them (ATT-02..07, ATT-09).

xAPI 1.0.3 Communication 1.5 and 2.0 LRS 4.1.3. An attachment object's data
either travels as a multipart part whose `X-Experience-API-Hash` equals the
object's `sha2`, or is left at its `fileUrl`. Matching is by hash only
(ATT-02: "It MUST not do so any other way"), one part may serve many objects
(ATT-09), and a part that no object names is an error (ATT-04).

SubStatements may carry attachments too (1.0.3 Data 2.4.4.3: a SubStatement
"MUST be validated as a Statement"; 2.0 LRS 4.2.2.3 lists `attachments` in
the SubStatement table), so their objects follow the same rules.

Run after statement validation: the objects are assumed to have the shape
Data 2.4.11 gives them; only what this module relies on is re-checked.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

from lrs.errors import BadRequest, ValidationError
from lrs.xapi.multipart import HASH_HEADER, Part, parse_content_type

SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"

# The SHA-2 family (FIPS 180-4) by hex digest length. Communication 1.5.2
# says providers SHOULD use SHA-256, -384 or -512, but `sha2` is "the SHA-2
# hash", so the truncated variants are accepted too.
_SHA2_BY_LENGTH = {
    56: ("sha224", "sha512_224"),
    64: ("sha256", "sha512_256"),
    96: ("sha384",),
    128: ("sha512",),
}
_HEX = re.compile(r"^[0-9a-f]+$")


def iter_attachments(statements: list[dict]) -> Iterator[tuple[str, dict]]:
    """Every attachment object in a batch, with its path
    (`statement[2].attachments[0]`, `statement[0].object.attachments[1]`)."""
    for i, statement in enumerate(statements):
        if not isinstance(statement, dict):
            continue
        yield from _objects(statement, f"statement[{i}]")
        sub = statement.get("object")
        if isinstance(sub, dict) and sub.get("objectType") == "SubStatement":
            yield from _objects(sub, f"statement[{i}].object")


def _objects(statement: dict, path: str) -> Iterator[tuple[str, dict]]:
    attachments = statement.get("attachments")
    if isinstance(attachments, list):
        for j, attachment in enumerate(attachments):
            if isinstance(attachment, dict):
                yield f"{path}.attachments[{j}]", attachment


def has_file_url(attachment: dict) -> bool:
    """Communication 1.5.1 speaks of "a populated fileUrl"."""
    url = attachment.get("fileUrl")
    return isinstance(url, str) and url != ""


def require_file_urls(statements: list[dict]) -> None:
    """An application/json statement request has no parts to carry data, so
    every attachment needs a fileUrl (Communication 1.5.2, ATT-07)."""
    for path, attachment in iter_attachments(statements):
        if not has_file_url(attachment):
            raise ValidationError(
                f"{path}.fileUrl",
                "is required when statements are sent as application/json; "
                "send the attachment data as multipart/mixed instead")


def match_attachments(statements: list[dict], parts: list[Part], *,
                      verify_hashes: bool = True) -> dict[str, Part]:
    """Pair attachment objects with the request's parts. Returns the parts by
    lower-cased SHA-2 hex. Raises if an object without fileUrl has no part
    (ATT-03), if a part is named by no object (ATT-04), if a part's headers
    or length contradict an object (ATT-04), or, with `verify_hashes`, if a
    part's data does not hash to its declared SHA-2."""
    by_hash = _index_parts(parts, verify_hashes)
    used: set[str] = set()
    for path, attachment in iter_attachments(statements):
        sha2 = attachment.get("sha2")
        if not isinstance(sha2, str) or not sha2:
            raise ValidationError(f"{path}.sha2", "is required")
        part = by_hash.get(sha2.lower())
        if part is None:
            if has_file_url(attachment):
                continue
            raise ValidationError(
                f"{path}.sha2",
                f"no multipart part has {HASH_HEADER} {sha2} and there is no fileUrl")
        _check_agrees(path, attachment, part)
        used.add(sha2.lower())
    for sha2, part in by_hash.items():
        if sha2 not in used:
            raise BadRequest(
                f"multipart part {part.index} has {HASH_HEADER} {sha2}, "
                "which is not the sha2 of any attachment in the statements",
                field=HASH_HEADER)
    return by_hash


def _index_parts(parts: list[Part], verify_hashes: bool) -> dict[str, Part]:
    by_hash: dict[str, Part] = {}
    for part in parts:
        sha2 = part.sha2
        if sha2 is None:  # parse_multipart already refuses these
            raise BadRequest(f"multipart part {part.index} has no {HASH_HEADER} header",
                             field=HASH_HEADER)
        _check_part_length(part)
        if verify_hashes:
            _check_digest(part, sha2)
        seen = by_hash.get(sha2)
        if seen is not None and seen.body != part.body:
            raise BadRequest(f"multipart parts {seen.index} and {part.index} have the "
                             f"same {HASH_HEADER} but different data", field=HASH_HEADER)
        by_hash.setdefault(sha2, part)
    return by_hash


def _check_part_length(part: Part) -> None:
    declared = part.headers.get("content-length")
    if declared is not None and declared != str(len(part.body)):
        raise BadRequest(f"multipart part {part.index} has Content-Length {declared} "
                         f"but carries {len(part.body)} octets")


def _check_digest(part: Part, sha2: str) -> None:
    # Communication 1.5.2: the LRS matches "by comparing the SHA-2 of the raw
    # data to the SHA-2 declared in the header". A part whose data does not
    # hash to its header was corrupted or mislabelled: storing it would
    # serve wrong bytes under that hash forever.
    names = _SHA2_BY_LENGTH.get(len(sha2)) if _HEX.match(sha2) else None
    if names is None:
        raise BadRequest(f"multipart part {part.index}: {HASH_HEADER} {sha2!r} is not "
                         "the hex digest of a SHA-2 hash", field=HASH_HEADER)
    for name in names:
        if _hexdigest(name, part.body) == sha2:
            return
    raise BadRequest(f"multipart part {part.index}: its data does not hash to its "
                     f"{HASH_HEADER} {sha2}", field=HASH_HEADER)


def _hexdigest(name: str, data: bytes) -> str | None:
    try:
        return hashlib.new(name, data).hexdigest()
    except ValueError:  # a truncated variant this OpenSSL build lacks
        return None


def _check_agrees(path: str, attachment: dict, part: Part) -> None:
    # Communication 1.5.2: "Where parameters have a corresponding property
    # within the attachment Object ... the value of these parameters and
    # properties MUST match": Content-Type ~ contentType, Content-Length ~
    # length. The rule binds only "when both the parameter and property are
    # specified": a part without Content-Length is not held to `length` (the
    # ADL suite sends such parts and expects 200).
    # (`length` is validated before: an integer, which JSON may write 16.0.)
    length = attachment.get("length")
    if ("content-length" in part.headers and type(length) in (int, float)
            and length != len(part.body)):
        raise ValidationError(f"{path}.length", f"is {length} but the attachment data "
                                                f"(multipart part {part.index}) is "
                                                f"{len(part.body)} octets")
    declared = attachment.get("contentType")
    if part.content_type is None or not isinstance(declared, str):
        return
    # Media types are compared without parameters: the spec's own example
    # (Communication 1.5.2) sends contentType "text/plain; charset=ascii"
    # with a part Content-Type of "text/plain".
    try:
        declared_type = parse_content_type(declared)[0]
    except BadRequest:
        raise ValidationError(f"{path}.contentType", "is not a media type") from None
    sent_type = parse_content_type(part.content_type)[0]
    if declared_type != sent_type:
        raise ValidationError(f"{path}.contentType",
                              f"is {declared_type} but multipart part {part.index} "
                              f"has Content-Type {sent_type}")
