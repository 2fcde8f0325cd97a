"""Agencies' own identity providers for the benchmark (--idp): the path the
LRS exists for, platforms sending JWTs their agency's IdP signed.

Each agency gets an EC P-256 key pair made here; its public key is published
as a JWKS document (with a `kid`) at ISSUER/jwks.json by a small HTTP server
on 127.0.0.1, in a daemon thread, while the run lasts (the LRS fetches key
sets again after 5 minutes). The LRS is told to trust each issuer through its
admin API, as an operator would (README: "Agencies' own identity
providers"), and each agency signs one ES256 token for the whole run, which
the LRS must accept once before the clock starts (so the first key set
fetches are not measured: a platform's steady state)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

ALGORITHM = "ES256"


@dataclass
class Provider:
    agency: str  # the tenant name, also the token's `tenant` claim
    issuer: str  # http://127.0.0.1:PORT/AGENCY
    kid: str
    key: ec.EllipticCurvePrivateKey

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks.json"

    def token(self, seconds: int = 86_400) -> str:
        """A token a platform of the agency would hold: all xAPI scopes."""
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": os.environ.get("LRS_JWT_AUDIENCE", "lrs"),
                  "sub": f"platform-{self.agency}", "scope": "all", "tenant": self.agency,
                  "iat": now, "exp": now + seconds}
        return jwt.encode(claims, self.key, algorithm=ALGORITHM, headers={"kid": self.kid})


@contextlib.contextmanager
def providers(agencies: list[str]) -> Iterator[list[Provider]]:
    """One identity provider per agency, its key set served until the block ends."""
    made = {name: ec.generate_private_key(ec.SECP256R1()) for name in agencies}
    documents: dict[str, bytes] = {}
    for name, key in made.items():
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        jwk.update(kid=f"{name}-1", use="sig", alg=ALGORITHM)
        documents[f"/{name}/jwks.json"] = json.dumps({"keys": [jwk]}).encode()

    class KeySets(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = documents.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line a fetch on stderr would interleave with the table

    server = ThreadingHTTPServer(("127.0.0.1", 0), KeySets)
    thread = threading.Thread(target=server.serve_forever, name="bench-idp", daemon=True)
    thread.start()
    try:
        origin = f"http://127.0.0.1:{server.server_port}"
        yield [Provider(name, f"{origin}/{name}", f"{name}-1", key) for name, key in made.items()]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def trusted_token(lrs_origin: str, admin: tuple[str, str], provider: Provider) -> str:
    """Register `provider` as its agency's identity provider through the
    LRS's admin API, and return a token of it that the LRS accepted (one
    GET /xapi/statements): a setup the LRS refuses fails here, with its
    answer, rather than as a table of 401s."""
    basic = base64.b64encode(":".join(admin).encode()).decode()
    _call(f"{lrs_origin}/admin/tenants/{provider.agency}/issuers", f"Basic {basic}",
          {"issuer": provider.issuer, "algorithms": [ALGORITHM], "jwks_url": provider.jwks_url},
          f"trusting {provider.issuer} for {provider.agency}")
    token = provider.token()
    _call(f"{lrs_origin}/xapi/statements?limit=1", f"Bearer {token}", None,
          f"a token of {provider.issuer}")
    return token


def _call(url: str, authorization: str, body: dict | None, what: str) -> None:
    headers = {"Authorization": authorization, "X-Experience-API-Version": "2.0.0"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, headers=headers, method="GET" if body is None else "POST",
                                     data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"the LRS refused {what}: {exc.code} "
                           f"{exc.read().decode(errors='replace')}") from None
