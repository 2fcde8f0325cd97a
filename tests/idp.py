"""An agency's identity provider for tests: it publishes its signing keys
as a JWKS document over HTTP on a loopback port, and can be made to fail
(an error status, a slow answer, no connection at all)."""

from __future__ import annotations

import http.server
import json
import threading
import time

import jwt


class JWKSServer:
    def __init__(self) -> None:
        self.keys: list[dict] = []
        self.fetches = 0
        self.status = 200  # what it answers; not 200: the body is an error page
        self.delay = 0.0  # seconds before it answers
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.fetches += 1
                time.sleep(outer.delay)
                ok = outer.status == 200
                body = (json.dumps({"keys": outer.keys}).encode() if ok
                        else b"<html>upstream unavailable</html>")
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json" if ok else "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def publish(self, private, kid: str | None, algorithm: str) -> None:
        """Add the public half of `private` to the key set."""
        jwk = json.loads(jwt.get_algorithm_by_name(algorithm).to_jwk(private.public_key()))
        if kid is not None:
            jwk["kid"] = kid
        self.keys.append({**jwk, "use": "sig", "alg": algorithm})

    def stop(self) -> None:
        """Gone: connections are refused from now on (again: nothing to do)."""
        if self.httpd.socket.fileno() != -1:
            self.httpd.shutdown()
            self.httpd.server_close()
