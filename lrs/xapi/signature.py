"""Signed statements: checking that a statement's JWS signature is well formed.

xAPI 1.0.3 Data 2.6 and 2.0 LRS 4.2.6 (SIG-01..08). A statement is signed
when one of its attachments has usageType
`http://adlnet.gov/expapi/attachments/signature`. For each such attachment
the LRS MUST: find its data among the multipart parts (SIG-03), decode it as
a JWS (RFC 7515) in compact serialization (SIG-08), require alg RS256, RS384
or RS512 (SIG-06), check the payload is a JSON serialization of the
statement that is logically equivalent to the one received, leaving the
signature attachment out of the comparison (SIG-04, SIG-05), and verify the
signature against the x5c certificate when the header carries one (SIG-07).
Any failure is a 400 whose message says why (SIG-01, SIG-02).

Decisions where the text leaves room:
- No x5c: the signature cannot be verified without a key, and the spec asks
  for verification only "If the JWS header includes an X.509 certificate".
  The structural checks and the payload comparison still apply, and the
  signature must not be empty (an RS* signature is as long as its key; the
  key's size is not bounded: Appendix D's example key has 1,024 bits). `jwk`,
  `x5u` and `kid` are ignored: fetching keys is I/O, and authenticating a
  signer "is outside the scope of this specification" (Data 2.6 Note).
- x5c: the signature is verified with the public key of x5c[0]; the chain is
  not validated against trust anchors and validity dates are not checked.
  The Note says this step is "a way to catch mistakes in the signature, not
  a security measure", and statements signed years ago must still verify.
- JWS JSON serialization is refused in 1.0.3 too: there it is "strongly
  discouraged" and "unlikely to be interoperable", and 2.0 forbids it.
- Only top-level statements are checked: Data 2.6 signs "a Statement"; a
  SubStatement's signature-typed attachment is an ordinary attachment.
- When both the payload and the received statement have an `id`, they must
  be equal: statement equivalence ignores ids (IMM-02), but a signature over
  another statement is not a signature of this one. A payload's id must be
  a UUID, as a statement's is. Call this before the LRS assigns ids, on the
  statements as received.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

import orjson
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import get_default_algorithms
from jwt.api_jws import PyJWS
from jwt.exceptions import PyJWTError

from lrs.errors import BadRequest, ValidationError
from lrs.xapi.attachments import SIGNATURE_USAGE
from lrs.xapi.equivalence import statements_equivalent
from lrs.xapi.formats_check import is_uuid
from lrs.xapi.jsonparse import MAX_DEPTH, nests_too_deep, repeated_key
from lrs.xapi.multipart import Part, parse_content_type

ALGORITHMS = ("RS256", "RS384", "RS512")  # Data 2.6, LRS 4.2.6
CONTENT_TYPE = "application/octet-stream"

_JWS = PyJWS(options={"verify_signature": False})
_RSA = get_default_algorithms()


def verify_signed_statements(statements: list[dict],
                             parts_by_sha2: Mapping[str, Part]) -> None:
    """Raise ValidationError for the first malformed signature in the batch.
    `parts_by_sha2` is what `attachments.match_attachments` returned."""
    for i, statement in enumerate(statements):
        if not isinstance(statement, dict):
            continue
        attachments = statement.get("attachments")
        for j, attachment in enumerate(attachments if isinstance(attachments, list) else []):
            if isinstance(attachment, dict) and attachment.get("usageType") == SIGNATURE_USAGE:
                _verify(statement, attachment, f"statement[{i}].attachments[{j}]",
                        parts_by_sha2)


def _verify(statement: dict, attachment: dict, path: str,
            parts: Mapping[str, Part]) -> None:
    _check_content_type(attachment, path)
    sha2 = attachment.get("sha2")
    part = parts.get(sha2.lower()) if isinstance(sha2, str) else None
    if part is None:
        raise ValidationError(path, "the signature's JWS must be sent as a multipart part; "
                                    "a fileUrl alone cannot be checked")
    header, payload, signature, signing_input = _decode(part.body, path)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise ValidationError(path, f"the JWS alg is {alg!r}; it must be RS256, RS384 or RS512")
    if not signature:
        # RFC 7518 3.3: an RS256/384/512 signature is as long as the key's
        # modulus. Without x5c nothing else of it can be checked, but none
        # at all is not one.
        raise ValidationError(path, "the JWS signature is empty; an RS256, RS384 or RS512 "
                                    "signature is as long as its RSA key")
    if "x5c" in header:
        key = _signer_key(header["x5c"], path)
        if not _RSA[alg].verify(signing_input, key, signature):
            raise ValidationError(path, "the JWS signature does not verify against the "
                                        "certificate in its x5c header")
    _check_payload(_payload_statement(payload, path), statement, attachment, path)


def _check_content_type(attachment: dict, path: str) -> None:
    declared = attachment.get("contentType")
    try:
        essence = parse_content_type(declared)[0] if isinstance(declared, str) else None
    except BadRequest:
        essence = None
    if essence != CONTENT_TYPE:
        raise ValidationError(f"{path}.contentType",
                              f"a signature attachment's contentType must be {CONTENT_TYPE}")


def _decode(data: bytes, path: str) -> tuple[dict, bytes, bytes, bytes]:
    """(header, payload, signature, signing input) of a compact JWS."""
    token = data.strip()
    if token.startswith(b"{"):
        raise ValidationError(path, "the signature uses JWS JSON serialization; "
                                    "use JWS compact serialization")
    if token.count(b".") != 2:
        raise ValidationError(path, "the signature is not a JWS in compact serialization")
    try:
        decoded = _JWS.decode_complete(token)
    except PyJWTError as error:
        raise ValidationError(path, f"the signature is not a valid JWS: {error}") from None
    signing_input = token.rsplit(b".", 1)[0]
    return decoded["header"], decoded["payload"], decoded["signature"], signing_input


def _signer_key(x5c: object, path: str) -> rsa.RSAPublicKey:
    # RFC 7515 §4.1.6: x5c is an array of base64 (not base64url) DER
    # certificates, the signer's first.
    if not isinstance(x5c, list) or not x5c or not all(isinstance(c, str) for c in x5c):
        raise ValidationError(path, "the JWS x5c header must be a non-empty array of strings")
    try:
        der = base64.b64decode(x5c[0], validate=True)
        certificate = x509.load_der_x509_certificate(der)
        key = certificate.public_key()
    except (ValueError, binascii.Error, UnsupportedAlgorithm):
        raise ValidationError(path, "the JWS x5c[0] is not a base64 DER X.509 certificate") \
            from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValidationError(path, "the JWS x5c certificate does not hold an RSA key, "
                                    "which RS256/RS384/RS512 need")
    return key


def _payload_statement(payload: bytes, path: str) -> dict:
    try:
        original = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise ValidationError(path, "the JWS payload is not valid JSON") from None
    if not isinstance(original, dict):
        raise ValidationError(path, "the JWS payload is not a JSON statement object")
    # As deep as a statement body may be: comparing it with the statement
    # received walks it recursively.
    if nests_too_deep(payload, original):
        raise ValidationError(path, f"the JWS payload nests deeper than {MAX_DEPTH} levels")
    # In either version: the statement that was signed must be one
    # statement, and with a key twice the payload would be two readings.
    if (key := repeated_key(payload, original)) is not None:
        raise ValidationError(path, f"the JWS payload repeats the key {key!r} in one object")
    return original


def _check_payload(original: dict, statement: dict, signature: dict, path: str) -> None:
    signed_id, received_id = original.get("id"), statement.get("id")
    if "id" in original and not is_uuid(signed_id):
        raise ValidationError(path, "the JWS payload's id is not a UUID: it is not a "
                                    "statement's serialization")
    if isinstance(signed_id, str) and isinstance(received_id, str) \
            and signed_id.lower() != received_id.lower():
        raise ValidationError(path, f"the JWS payload is statement {signed_id}, "
                                    f"not {received_id}")
    if not statements_equivalent(original, _without(statement, signature)):
        raise ValidationError(path, "the JWS payload is not the same statement as the one "
                                    "received (Data 2.3.1 comparison rules)")


def _without(statement: dict, signature: dict) -> dict:
    """The statement as it was before the signature attachment was added."""
    received = dict(statement)
    others = [a for a in statement.get("attachments", []) if a is not signature]
    if others:
        received["attachments"] = others
    else:
        received.pop("attachments", None)
    return received
