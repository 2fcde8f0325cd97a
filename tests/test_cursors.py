"""`more` cursors (lrs.auth.cursors): sealed, signed, bound to the tenant."""

from __future__ import annotations

import base64

import orjson
import pytest

from lrs.auth import cursors
from lrs.errors import BadRequest

KEY = b"k" * 32
STATE = {"q": {"verb": "http://example.com/verbs/done"}, "after": 123_456, "l": 50}


def test_a_cursor_reads_back_and_shows_nothing_of_its_state():
    token = cursors.encode(KEY, 7, STATE, now=1_000)
    assert cursors.decode(KEY, 7, token, now=1_000) == {**STATE, "iat": 1_000}
    sealed = base64.urlsafe_b64decode(token.split(".")[0] + "==")
    # The position in store order is a sequence all tenants share: in the
    # clear, two cursors of one tenant told how much the others stored in
    # between (fuzz round 7).
    assert b"123456" not in sealed and b"verb" not in sealed
    # A fresh nonce each time: the same state never seals the same way.
    assert cursors.encode(KEY, 7, STATE, now=1_000) != token


def test_a_cursor_is_worthless_altered_or_to_another_tenant():
    token = cursors.encode(KEY, 7, STATE)
    sealed, mac = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4)))
    raw[-1] ^= 1
    flipped = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    for key, tenant, bad in ((KEY, 8, token), (KEY, 7, f"{flipped}.{mac}"),
                             (b"other" * 8, 7, token)):
        with pytest.raises(BadRequest):
            cursors.decode(key, tenant, bad)


def test_a_cursor_of_the_earlier_clear_form_is_still_read():
    # Issued before the cursors were sealed: read for their lifetime, so an
    # upgrade does not end paging in progress.
    body = orjson.dumps({**STATE, "iat": 1_000})
    token = f"{cursors._b64(body)}.{cursors._b64(cursors._plain_mac(KEY, 7, body))}"
    assert cursors.decode(KEY, 7, token, now=1_000)["after"] == 123_456
    with pytest.raises(BadRequest):
        cursors.decode(KEY, 8, token, now=1_000)
