"""Signed statements (SIG-01, 03..06): a JWS (compact serialization) as a multipart
attachment with the signature usageType. Needs PyJWT + cryptography to build the JWS;
skips without them (they are client-side helpers, nothing on the LRS depends on them)."""

from __future__ import annotations

import json

import pytest

from conformance.lib import assert_status, encode_multipart, sha256_hex

jwt = pytest.importorskip("jwt")
rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")

SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _signed(stmt: dict, token: bytes) -> dict:
    s = json.loads(json.dumps(stmt))
    s["attachments"] = [{"usageType": SIGNATURE, "display": {"en-US": "Signature"},
                         "contentType": "application/octet-stream", "length": len(token),
                         "sha2": sha256_hex(token)}]
    return s


def _post(lrs, stmt: dict, token: bytes):
    content, ctype = encode_multipart(_signed(stmt, token), [(token, "application/octet-stream")])
    return lrs.post("statements", content=content, headers={"Content-Type": ctype})


def _jws(payload: dict, key, alg: str = "RS256") -> bytes:
    token = jwt.encode(payload, key, algorithm=alg)
    return token.encode() if isinstance(token, str) else token


def test_sig_03_04_05_valid_signed_statement_accepted(lrs, f, key):
    s = f.statement()
    r = _post(lrs, s, _jws(s, key))
    assert_status(r, 200)
    got = lrs.wait_for_statement(s["id"]).json()
    assert got["attachments"][0]["usageType"] == SIGNATURE


@pytest.mark.parametrize("token", [b"not a jws", b"aaa.bbb.ccc", b""])
def test_sig_01_malformed_signature_400(lrs, f, token):
    s = f.statement()
    r = _post(lrs, s, token)
    assert_status(r, 400)
    assert_status(lrs.get_statement(s["id"]), 404)


def test_sig_05_payload_not_equivalent_400(lrs, f, key):
    s = f.statement()
    other = json.loads(json.dumps(s))
    other["verb"]["id"] = "http://adlnet.gov/expapi/verbs/failed"
    r = _post(lrs, s, _jws(other, key))
    assert_status(r, 400)
    assert r.text.strip(), "SIG-02: explain why the signed statement was rejected"


def test_sig_06_wrong_algorithm_400(lrs, f):
    s = f.statement()
    r = _post(lrs, s, _jws(s, "a-shared-secret-that-is-long-enough-for-hs256", alg="HS256"))
    assert_status(r, 400)
