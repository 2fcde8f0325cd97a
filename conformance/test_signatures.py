"""Signed statements (SIG-01, 03..08): a JWS (compact serialization) as a multipart
attachment with the signature usageType. Needs PyJWT + cryptography to build the JWS;
skips without them (they are client-side helpers, nothing on the LRS depends on them)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from conformance.lib import assert_status, encode_multipart, read_statement, sha256_hex

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


def _valid_signed_accepted(lrs, f, key) -> None:
    """The positive control of a rejection test: the same request, signed
    right, is stored. Without it an LRS that refuses every multipart request
    (or every signed statement) would pass the 400s below."""
    ok = f.statement()
    r = _post(lrs, ok, _jws(ok, key))
    assert r.status_code == 200, (
        f"the same request with a valid signature must be accepted first (SIG-03/04), got "
        f"{r.status_code}: {r.text[:300]}; without that the 400 this test expects proves nothing")


def test_sig_03_04_05_valid_signed_statement_accepted(lrs, f, key):
    s = f.statement()
    r = _post(lrs, s, _jws(s, key))
    assert_status(r, 200)
    got = read_statement(lrs, s["id"])
    assert got["attachments"][0]["usageType"] == SIGNATURE


@pytest.mark.parametrize("token", [b"not a jws", b"aaa.bbb.ccc", b""])
def test_sig_01_malformed_signature_400(lrs, f, key, token):
    _valid_signed_accepted(lrs, f, key)
    s = f.statement()
    r = _post(lrs, s, token)
    assert_status(r, 400)
    assert_status(lrs.get_statement(s["id"]), 404)


def test_sig_05_payload_not_equivalent_400(lrs, f, key):
    _valid_signed_accepted(lrs, f, key)
    s = f.statement()
    other = json.loads(json.dumps(s))
    other["verb"]["id"] = "http://adlnet.gov/expapi/verbs/failed"
    r = _post(lrs, s, _jws(other, key))
    assert_status(r, 400)
    assert r.text.strip(), "SIG-02: explain why the signed statement was rejected"


def test_sig_06_wrong_algorithm_400(lrs, f, key):
    _valid_signed_accepted(lrs, f, key)
    s = f.statement()
    r = _post(lrs, s, _jws(s, "a-shared-secret-that-is-long-enough-for-hs256", alg="HS256"))
    assert_status(r, 400)


def _x5c(key) -> list[str]:
    """A self-signed certificate for `key`, as an x5c header value."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "conformance")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]


def test_sig_07_signature_checked_against_the_x5c_certificate(lrs, f, key):
    s = f.statement()
    token = jwt.encode(s, key, algorithm="RS256", headers={"x5c": _x5c(key)})
    assert_status(_post(lrs, s, token.encode()), 200)
    # Signed by another key than the certificate's: the signature does not verify.
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    s2 = f.statement()
    token = jwt.encode(s2, other, algorithm="RS256", headers={"x5c": _x5c(key)})
    assert_status(_post(lrs, s2, token.encode()), 400)
    assert_status(lrs.get_statement(s2["id"]), 404)


@pytest.mark.versions("2.0.0")
def test_sig_08_jws_json_serialization_400_in_2_0(lrs, f, key):
    _valid_signed_accepted(lrs, f, key)
    s = f.statement()
    protected, payload, signature = _jws(s, key).decode().split(".")
    token = json.dumps({"protected": protected, "payload": payload, "signature": signature}).encode()
    assert_status(_post(lrs, s, token), 400)
    assert_status(lrs.get_statement(s["id"]), 404)
