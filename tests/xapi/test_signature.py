"""Signed statements (SIG-01..08): real JWS built with `cryptography` keys."""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.api_jws import PyJWS

from lrs.errors import ValidationError
from lrs.xapi.attachments import SIGNATURE_USAGE, match_attachments
from lrs.xapi.multipart import Part, build_multipart, parse_multipart
from lrs.xapi.signature import verify_signed_statements

APPENDIX_D_JWS = (
    "ew0KICAgICJhbGciOiAiUlMyNTYiLA0KICAgICJ4NWMiOiBbDQogICAgICAgICJNSUlEQVRDQ0FtcWdBd0lCQWdJ"
    "SkFNQjFjc051QTYra01BMEdDU3FHU0liM0RRRUJCUVVBTUhFeEN6QUpCZ05WQkFZVEFsVlRNUkl3RUFZRFZRUUlF"
    "d2xVWlc1dVpYTnpaV1V4R0RBV0JnTlZCQW9URDBWNFlXMXdiR1VnUTI5dGNHRnVlVEVRTUE0R0ExVUVBeE1IUlho"
    "aGJYQnNaVEVpTUNBR0NTcUdTSWIzRFFFSkFSWVRaWGhoYlhCc1pVQmxlR0Z0Y0d4bExtTnZiVEFlRncweE16QTBN"
    "RFF4TlRJNE16QmFGdzB4TkRBME1EUXhOVEk0TXpCYU1JR1dNUXN3Q1FZRFZRUUdFd0pWVXpFU01CQUdBMVVFQ0JN"
    "SlZHVnVibVZ6YzJWbE1SRXdEd1lEVlFRSEV3aEdjbUZ1YTJ4cGJqRVlNQllHQTFVRUNoTVBSWGhoYlhCc1pTQkRi"
    "MjF3WVc1NU1SQXdEZ1lEVlFRTEV3ZEZlR0Z0Y0d4bE1SQXdEZ1lEVlFRREV3ZEZlR0Z0Y0d4bE1TSXdJQVlKS29a"
    "SWh2Y05BUWtCRmhObGVHRnRjR3hsUUdWNFlXMXdiR1V1WTI5dE1JR2ZNQTBHQ1NxR1NJYjNEUUVCQVFVQUE0R05B"
    "RENCaVFLQmdRRGp4dlpYRjMwV0w0b0tqWllYZ1IwWnlhWCt1M3k2K0pxVHFpTmtGYS9WVG5ldDZMeTJPVDZabW1j"
    "SkVQbnEzVW5ld3BIb09RK0dmaGhUa1cxM2owNmo1aU5uNG9iY0NWV1RMOXlYTnZKSCtLbyt4dTRZbC95U1BScklQ"
    "eVRqdEhkRzBNMlh6SWxtbUxxbStDQVMrS0NiSmVINHRmNTQza0lXQzVwQzVwM2NWUUlEQVFBQm8zc3dlVEFKQmdO"
    "VkhSTUVBakFBTUN3R0NXQ0dTQUdHK0VJQkRRUWZGaDFQY0dWdVUxTk1JRWRsYm1WeVlYUmxaQ0JEWlhKMGFXWnBZ"
    "MkYwWlRBZEJnTlZIUTRFRmdRVVZzM3Y1YWZFZE9lb1llVmFqQVFFNHYwV1MxUXdId1lEVlIwakJCZ3dGb0FVeVZJ"
    "YzN5dnJhNEVCejIwSTRCRjM5SUFpeEJrd0RRWUpLb1pJaHZjTkFRRUZCUUFEZ1lFQWdTL0ZGNUQwSG5qNDRydlQ2"
    "a2duM2tKQXZ2MmxqL2Z5anp0S0lyWVMzM2xqWEduNmdHeUE0cXRiWEEyM1ByTzR1Yy93WUNTRElDRHBQb2JoNjJ4"
    "VENkOXFPYktoZ3dXT2kwNVBTQkxxVXUzbXdmQWUxNUxKQkpCcVBWWjRLMGtwcGVQQlU4bTZhSVpvSDU3TC85dDRP"
    "b2FMOHlLcy9xaktGZUkxT0ZXWnh2QT0iLA0KICAgICAgICAiTUlJRE56Q0NBcUNnQXdJQkFnSUpBTUIxY3NOdUE2"
    "K2pNQTBHQ1NxR1NJYjNEUUVCQlFVQU1IRXhDekFKQmdOVkJBWVRBbFZUTVJJd0VBWURWUVFJRXdsVVpXNXVaWE56"
    "WldVeEdEQVdCZ05WQkFvVEQwVjRZVzF3YkdVZ1EyOXRjR0Z1ZVRFUU1BNEdBMVVFQXhNSFJYaGhiWEJzWlRFaU1D"
    "QUdDU3FHU0liM0RRRUpBUllUWlhoaGJYQnNaVUJsZUdGdGNHeGxMbU52YlRBZUZ3MHhNekEwTURReE5USTFOVE5h"
    "RncweU16QTBNREl4TlRJMU5UTmFNSEV4Q3pBSkJnTlZCQVlUQWxWVE1SSXdFQVlEVlFRSUV3bFVaVzV1WlhOelpX"
    "VXhHREFXQmdOVkJBb1REMFY0WVcxd2JHVWdRMjl0Y0dGdWVURVFNQTRHQTFVRUF4TUhSWGhoYlhCc1pURWlNQ0FH"
    "Q1NxR1NJYjNEUUVKQVJZVFpYaGhiWEJzWlVCbGVHRnRjR3hsTG1OdmJUQ0JuekFOQmdrcWhraUc5dzBCQVFFRkFB"
    "T0JqUUF3Z1lrQ2dZRUExc0JuQldQWjBmN1dKVUZUSnk1KzAxU2xTNVo2RERENlV5ZTl2SzlBeWNnVjVCMytXQzhI"
    "QzV1NWg5MU11akFDMUFSUFZVT3RzdlBSczQ1cUtORklnSUdSWEtQQXdaamF3RUkyc0NKUlNLVjQ3aTZCOGJEdjRX"
    "a3VHdlFhdmVaR0kwcWxtTjVSMUVpbTJnVUl0UmoxaGdjQzlyUWF2amxuRktEWTJybFhHdWtDQXdFQUFhT0IxakNC"
    "MHpBZEJnTlZIUTRFRmdRVXlWSWMzeXZyYTRFQnoyMEk0QkYzOUlBaXhCa3dnYU1HQTFVZEl3U0JtekNCbUlBVXlW"
    "SWMzeXZyYTRFQnoyMEk0QkYzOUlBaXhCbWhkYVJ6TUhFeEN6QUpCZ05WQkFZVEFsVlRNUkl3RUFZRFZRUUlFd2xV"
    "Wlc1dVpYTnpaV1V4R0RBV0JnTlZCQW9URDBWNFlXMXdiR1VnUTI5dGNHRnVlVEVRTUE0R0ExVUVBeE1IUlhoaGJY"
    "QnNaVEVpTUNBR0NTcUdTSWIzRFFFSkFSWVRaWGhoYlhCc1pVQmxlR0Z0Y0d4bExtTnZiWUlKQU1CMWNzTnVBNitq"
    "TUF3R0ExVWRFd1FGTUFNQkFmOHdEUVlKS29aSWh2Y05BUUVGQlFBRGdZRUFEaHdUZWJHazczNXlLaG04RHFDeHZO"
    "bkVaME54c1lFWU9qZ1JHMXlYVGxXNXBFNjkxZlNINUFaK1Q2ZnB3cFpjV1k1UVlrb042RG53ak94R2tTZlFDMy95"
    "R21jVURLQlB3aVo1TzJzOUMrZkUxa1VFbnJYMlhlYTRhZ1ZuZ016UjhEUTZvT2F1TFdxZWhEQitnMkVOV1JMb1Zn"
    "UyttYTUvWWNzMEdUeXJFQ1k9Ig0KICAgIF0NCn0.ew0KICAgICJ2ZXJzaW9uIjogIjEuMC4wIiwNCiAgICAiaWQi"
    "OiAiMzNjZmY0MTYtZTMzMS00YzlkLTk2OWUtNTM3M2ExNzU2MTIwIiwNCiAgICAiYWN0b3IiOiB7DQogICAgICAg"
    "ICJtYm94IjogIm1haWx0bzpleGFtcGxlQGV4YW1wbGUuY29tIiwNCiAgICAgICAgIm5hbWUiOiAiRXhhbXBsZSBM"
    "ZWFybmVyIiwNCiAgICAgICAgIm9iamVjdFR5cGUiOiAiQWdlbnQiDQogICAgfSwNCiAgICAidmVyYiI6IHsNCiAg"
    "ICAgICAgImlkIjogImh0dHA6Ly9hZGxuZXQuZ292L2V4cGFwaS92ZXJicy9leHBlcmllbmNlZCIsDQogICAgICAg"
    "ICJkaXNwbGF5Ijogew0KICAgICAgICAgICAgImVuLVVTIjogImV4cGVyaWVuY2VkIg0KICAgICAgICB9DQogICAg"
    "fSwNCiAgICAib2JqZWN0Ijogew0KICAgICAgICAiaWQiOiAiaHR0cHM6Ly93d3cueW91dHViZS5jb20vd2F0Y2g_"
    "dj14aDRrSWlIM1NtOCIsDQogICAgICAgICJvYmplY3RUeXBlIjogIkFjdGl2aXR5IiwNCiAgICAgICAgImRlZmlu"
    "aXRpb24iOiB7DQogICAgICAgICAgICAibmFtZSI6IHsNCiAgICAgICAgICAgICAgICAiZW4tVVMiOiAiVGF4IFRp"
    "cHMgJiBJbmZvcm1hdGlvbiA6IEhvdyB0byBGaWxlIGEgVGF4IFJldHVybiAiDQogICAgICAgICAgICB9LA0KICAg"
    "ICAgICAgICAgImRlc2NyaXB0aW9uIjogew0KICAgICAgICAgICAgICAgICJlbi1VUyI6ICJGaWxpbmcgYSB0YXgg"
    "cmV0dXJuIHdpbGwgcmVxdWlyZSBmaWxsaW5nIG91dCBlaXRoZXIgYSAxMDQwLCAxMDQwQSBvciAxMDQwRVogZm9y"
    "bSINCiAgICAgICAgICAgIH0NCiAgICAgICAgfQ0KICAgIH0sDQogICAgInRpbWVzdGFtcCI6ICIyMDEzLTA0LTAx"
    "VDEyOjAwOjAwWiINCn0.FWuwaPhwUbkk7h9sKW5zSvjsYNugvxJ-TrVaEgt_DCUT0bmKhQScRrjMB6P9O50uznPw"
    "T66oF1NnU_G0HVhRzS5voiXE-y7tT3z0M3-8A6YK009Bk_digVUul-HA4Fpd5IjoBBGe3yzaQ2ZvzarvRuipvNEQ"
    "CI0onpfuZZJQ0d8"
)
# xAPI 1.0.3 Data Appendix D: the signed statement as received (its payload
# was serialized with CRLF line breaks and four-space indents).
APPENDIX_D_STATEMENT = {
    "version": "1.0.0",
    "id": "33cff416-e331-4c9d-969e-5373a1756120",
    "actor": {"mbox": "mailto:example@example.com", "name": "Example Learner",
              "objectType": "Agent"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced",
             "display": {"en-US": "experienced"}},
    "object": {
        "id": "https://www.youtube.com/watch?v=xh4kIiH3Sm8",
        "objectType": "Activity",
        "definition": {
            "name": {"en-US": "Tax Tips & Information : How to File a Tax Return "},
            "description": {"en-US": "Filing a tax return will require filling out either "
                                     "a 1040, 1040A or 1040EZ form"},
        },
    },
    "timestamp": "2013-04-01T12:00:00Z",
}


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate(private_key, public_key=None) -> str:
    """A self-signed X.509 certificate, base64 DER as x5c carries it."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xAPI test signer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(public_key or private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(private_key, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def original() -> dict:
    return {
        "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
        "actor": {"objectType": "Agent", "mbox": "mailto:signer@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed",
                 "display": {"en-US": "completed"}},
        "object": {"id": "http://example.com/activities/signed", "objectType": "Activity"},
        "timestamp": "2024-05-01T10:00:00.000Z",
    }


def sign(payload: dict | bytes, private_key, alg: str = "RS256", **header: object) -> bytes:
    data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return PyJWS().encode(data, private_key, algorithm=alg, headers=header or None).encode()


def unsigned(header: dict, payload: dict) -> bytes:
    """A compact JWS with an empty signature (alg none) or a junk one."""
    def b64(raw: bytes) -> bytes:
        return base64.urlsafe_b64encode(raw).rstrip(b"=")
    return b64(orjson.dumps(header)) + b"." + b64(orjson.dumps(payload)) + b"."


def signed(jws: bytes, stmt: dict | None = None, content_type: str = "application/octet-stream",
           ) -> tuple[list[dict], dict[str, Part]]:
    """The statement as received with its signature attached, and its part."""
    received = copy.deepcopy(stmt or original())
    sha2 = hashlib.sha256(jws).hexdigest()
    received.setdefault("attachments", []).append({
        "usageType": SIGNATURE_USAGE,
        "display": {"en-US": "Signature"},
        "contentType": content_type,
        "length": len(jws),
        "sha2": sha2,
    })
    part = Part({"x-experience-api-hash": sha2, "content-type": "application/octet-stream"},
                jws, 2)
    return [received], {sha2: part}


def rejects(statements: list[dict], parts: dict[str, Part], message: str,
            path: str = "statement[0].attachments[0]") -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        verify_signed_statements(statements, parts)
    assert caught.value.path == path
    assert caught.value.status == 400


# --- accepted ---------------------------------------------------------------------

@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_valid_signature_with_x5c(key, alg: str) -> None:
    verify_signed_statements(*signed(sign(original(), key, alg, x5c=[certificate(key)])))


def test_valid_signature_without_x5c_checks_the_payload_only(key) -> None:
    # The ADL conformance suite signs with a bare key and no x5c.
    verify_signed_statements(*signed(sign(original(), key)))


def test_x5c_chain_uses_the_first_certificate(key, other_key) -> None:
    chain = [certificate(key), certificate(other_key)]
    verify_signed_statements(*signed(sign(original(), key, x5c=chain)))


def test_appendix_d_example_verifies() -> None:
    verify_signed_statements(*signed(APPENDIX_D_JWS.encode(), APPENDIX_D_STATEMENT))


def test_payload_differing_only_where_equivalence_allows(key) -> None:
    # Data 2.3.1: stored/authority/version may be added; the received copy
    # here has the verb display dropped and an LRS-style version.
    received = original()
    received["verb"] = {"id": received["verb"]["id"]}
    received["version"] = "1.0.3"
    verify_signed_statements(*signed(sign(original(), key), received))


def test_other_attachments_stay_in_the_comparison(key) -> None:
    other = {"usageType": "http://example.com/usage", "display": {"en-US": "x"},
             "contentType": "text/plain", "length": 1, "sha2": "ab" * 32,
             "fileUrl": "http://example.com/x"}
    stmt = original()
    stmt["attachments"] = [other]
    statements, parts = signed(sign(stmt, key), stmt)
    assert statements[0]["attachments"][1]["usageType"] == SIGNATURE_USAGE
    verify_signed_statements(statements, parts)


def test_unsigned_statements_are_ignored() -> None:
    verify_signed_statements([original(), {"attachments": [{"usageType": "x"}]}], {})


def test_trailing_line_break_after_the_jws_is_tolerated(key) -> None:
    verify_signed_statements(*signed(sign(original(), key) + b"\r\n"))


def test_signature_in_second_statement_of_a_batch(key) -> None:
    statements, parts = signed(sign(original(), key))
    tampered = copy.deepcopy(statements[0])
    tampered["verb"]["id"] = "http://adlnet.gov/expapi/verbs/failed"
    with pytest.raises(ValidationError) as caught:
        verify_signed_statements([original(), statements[0], tampered], parts)
    assert caught.value.path == "statement[2].attachments[0]"


def test_end_to_end_through_multipart(key) -> None:
    jws = sign(original(), key, x5c=[certificate(key)])
    statements, parts = signed(jws)
    sha2 = statements[0]["attachments"][0]["sha2"]
    raw, ct = build_multipart(orjson.dumps(statements),
                              [(sha2, "application/octet-stream", jws)])
    first, received_parts = parse_multipart(raw, ct)
    received = orjson.loads(first)
    verify_signed_statements(received, match_attachments(received, received_parts))


# --- refused ------------------------------------------------------------------------

def test_tampered_payload(key) -> None:
    received = original()
    received["verb"]["id"] = "http://adlnet.gov/expapi/verbs/failed"
    rejects(*signed(sign(original(), key, x5c=[certificate(key)]), received),
            "not the same statement")


def test_payload_for_a_different_statement_id(key) -> None:
    other = original()
    other["id"] = "0c2a2b7e-9e38-4a49-a1b5-0b7a3c1b8f10"
    rejects(*signed(sign(other, key)), "is statement 0c2a2b7e")


def test_payload_for_a_different_statement_without_ids(key) -> None:
    payload = original()
    del payload["id"]
    payload["object"]["id"] = "http://example.com/activities/other"
    rejects(*signed(sign(payload, key)), "not the same statement")


def test_a_payload_that_repeats_a_key_is_refused(key) -> None:
    # The statement received has the last verb of the payload, which a
    # parser keeping the last value would find the same statement.
    received = original()
    payload = orjson.dumps(received)
    verb = orjson.dumps(received["verb"])
    other = orjson.dumps({"id": "http://adlnet.gov/expapi/verbs/failed"})
    doubled = payload.replace(b'"verb":' + verb, b'"verb":' + other + b',"verb":' + verb)
    assert doubled != payload
    rejects(*signed(sign(doubled, key), received), "repeats the key 'verb'")


def test_tampered_signature_bytes(key) -> None:
    jws = bytearray(sign(original(), key, x5c=[certificate(key)]))
    jws[-5] = ord("A") if jws[-5] != ord("A") else ord("B")
    rejects(*signed(bytes(jws)), "does not verify")


def test_x5c_of_another_key(key, other_key) -> None:
    rejects(*signed(sign(original(), key, x5c=[certificate(other_key)])), "does not verify")


@pytest.mark.parametrize("x5c, message", [
    ("MIIB", "array of strings"),
    ([], "array of strings"),
    ([1], "array of strings"),
    (["not base64!"], "not a base64 DER"),
    ([base64.b64encode(b"not a certificate").decode()], "not a base64 DER"),
])
def test_bad_x5c(key, x5c: object, message: str) -> None:
    rejects(*signed(sign(original(), key, x5c=x5c)), message)


def test_x5c_with_a_non_rsa_key(key) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rejects(*signed(sign(original(), key, x5c=[certificate(ec_key)])), "RSA key")


def test_hs256_is_refused() -> None:  # SIG-06
    secret = b"a shared secret that is long enough for HMAC-SHA256"
    rejects(*signed(sign(original(), secret, "HS256")), "'HS256'")


def test_alg_none_is_refused() -> None:
    rejects(*signed(unsigned({"alg": "none"}, original())), "'none'")


def test_missing_alg_is_refused() -> None:
    rejects(*signed(unsigned({"typ": "JWT"}, original())), "None")


def test_an_empty_signature_is_refused() -> None:
    """Fuzz round 3: without x5c, `header.payload.` was accepted."""
    rejects(*signed(unsigned({"alg": "RS256"}, original())), "signature is empty")


@pytest.mark.parametrize("signed_id", [123, None, "not-a-uuid"])
def test_a_payload_whose_id_is_not_a_uuid(key, signed_id) -> None:
    """Fuzz round 3: ids are left out of the comparison (IMM-02), so a
    payload id of 123 passed for a statement sent without one."""
    received = original()
    del received["id"]
    rejects(*signed(sign({**received, "id": signed_id}, key), received), "id is not a UUID")


def test_ps256_is_refused(key) -> None:
    rejects(*signed(sign(original(), key, "PS256")), "'PS256'")


def test_payload_that_is_not_json(key) -> None:
    # The ADL suite's "bad JSON serialization": one quote swapped for '.
    text = orjson.dumps(original()).decode().replace('"', "'", 1).encode()
    rejects(*signed(sign(text, key)), "not valid JSON")


def test_payload_that_is_not_an_object(key) -> None:
    rejects(*signed(sign(b"[1, 2]", key)), "not a JSON statement")


@pytest.mark.parametrize("jws", [
    b"",
    b"not a jws",
    b"a.b",
    b"a.b.c.d",
    b"!!!.###.$$$",
    b'{"payload": "e30", "signatures": []}',
])
def test_not_a_compact_jws(jws: bytes) -> None:
    rejects(*signed(jws), "JWS")


def test_json_serialization_is_refused(key) -> None:  # SIG-08
    header, payload, signature = sign(original(), key).decode().split(".")
    general = orjson.dumps({"payload": payload,
                            "signatures": [{"protected": header, "signature": signature}]})
    rejects(*signed(general), "JSON serialization")


def test_unknown_critical_header_is_refused(key) -> None:
    rejects(*signed(sign(original(), key, crit=["exp"], exp=1)), "not a valid JWS")


def test_signature_content_type_must_be_octet_stream(key) -> None:  # SIG-03
    statements, parts = signed(sign(original(), key), content_type="text/plain; charset=ascii")
    rejects(statements, parts, "application/octet-stream",
            path="statement[0].attachments[0].contentType")


def test_signature_content_type_parameters_are_allowed(key) -> None:
    verify_signed_statements(*signed(sign(original(), key),
                                     content_type="Application/Octet-Stream"))


def test_signature_sent_only_as_file_url_is_refused(key) -> None:
    statements, _ = signed(sign(original(), key))
    statements[0]["attachments"][0]["fileUrl"] = "http://example.com/sig.jws"
    rejects(statements, {}, "multipart part")
