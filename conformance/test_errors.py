"""Error bodies by content negotiation (ERR-03, a SHOULD: 1.0.3 Communication
3.2, 2.0 LRS 4.1.5 "the LRS SHOULD choose the error format ... by content
negotiation (RFC 7231), offering plain text, HTML and JSON")."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("media_type", ["application/json", "text/plain", "text/html"])
def test_err_03_error_format_by_content_negotiation(lrs, media_type):
    # statementId must be a UUID (GEN-09): refused in every LRS, whatever it stores.
    r = lrs.get("statements", params={"statementId": "not-a-uuid"},
                headers={"Accept": media_type})
    assert 400 <= r.status_code < 500, f"GEN-09: a statementId that is no UUID -> {r.status_code}"
    served = r.headers.get("content-type", "").split(";")[0].strip().lower()
    assert served == media_type, \
        f"ERR-03: a 400 asked for with Accept: {media_type} came as {served or '(no type)'}"
    assert r.text.strip(), "ERR-02: the error explains itself"
