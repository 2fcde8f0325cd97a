"""The X-Experience-API-Version header: which rules a request is served by.

xAPI 1.0.3 Communication 3.3 and 2.0 LRS 4.1.7: accept 1.0, 1.0.x and 2.0,
2.0.x; reject anything else, and a missing header, with 400."""

from __future__ import annotations

import re

from lrs.errors import BadRequest

V1 = "1.0.3"  # the 1.0.x rules, answered as the latest patch we implement
V2 = "2.0.0"
SUPPORTED = (V1, V2)
HEADER = "X-Experience-API-Version"

_VERSION = re.compile(r"^(1\.0|2\.0)(?:\.(0|[1-9][0-9]*))?$")


def negotiate(header: str | None) -> str:
    """Map a request's version header to the rules that serve it."""
    if header is None:
        raise BadRequest(f"{HEADER} header is required", field=HEADER)
    # Sent on several lines, the header is their comma-joined list: the
    # same version repeated is that version, two versions are no answer.
    named = {value.strip() for value in header.split(",")}
    if len(named) > 1:
        raise BadRequest(f"{HEADER} names several versions ({header!r}): send one",
                         field=HEADER)
    match = _VERSION.match(named.pop())
    if match is None:
        raise BadRequest(
            f"{HEADER} {header!r} is not supported: send 1.0.x or 2.0.x", field=HEADER)
    return V1 if match.group(1) == "1.0" else V2
