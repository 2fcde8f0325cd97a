"""Operating the server, as an operator sees it: the log is one JSON object
per line, one line per request, with no secret, token or statement content;
SIGTERM lets in-flight requests finish; workers do not outlive a killed
`lrs serve`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
import uuid

import asyncpg
import httpx

from tests import live

V2 = {"X-Experience-API-Version": "2.0.0"}


def test_log_is_json_lines_without_secrets(database_url, tenant, tmp_path):
    port = live.free_port()
    log_path = tmp_path / "lrs.log"
    env = {**os.environ, "LRS_DATABASE_URL": database_url, "LRS_LOG_LEVEL": "info"}
    with open(log_path, "w") as log_file:
        proc = live.serve("--port", str(port), env=env, stderr=log_file)
        url = f"http://127.0.0.1:{port}"
        marker = f"learner-{uuid.uuid4().hex}@example.org"
        try:
            live.wait_ready(url, proc, 30)
            auth = (tenant.key, tenant.secret)
            statement = {"actor": {"mbox": f"mailto:{marker}"},
                         "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                         "object": {"id": "http://example.org/logs"}}
            posted = httpx.post(f"{url}/xapi/statements", json=[statement, statement | {}],
                                auth=auth, headers={**V2, "X-Request-ID": "trace-me-42"})
            assert posted.status_code == 200
            # Written in blocks, but an operator tailing the log sees it promptly.
            live.wait_until(lambda: "trace-me-42" in log_path.read_text(), 2,
                            "the request's access line while the server runs")
            token = httpx.post(f"{url}/oauth/token", auth=auth,
                               data={"grant_type": "client_credentials"}).json()["access_token"]
            httpx.get(f"{url}/xapi/statements", headers={**V2, "Authorization": f"Bearer {token}"},
                      params={"agent": json.dumps(statement["actor"])})
            httpx.get(f"{url}/xapi/statements", auth=(tenant.key, "wrong-secret"), headers=V2)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)

    text = log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert lines, "the server logged nothing"
    for forbidden in (tenant.secret, token, marker, "wrong-secret"):
        assert forbidden not in text
    requests = [line["http"] for line in lines if line.get("logger") == "lrs.access"]
    post = next(r for r in requests if r["method"] == "POST" and r["route"] == "/xapi/statements")
    assert post == {"method": "POST", "route": "/xapi/statements", "status": 200,
                    "duration_ms": post["duration_ms"], "request_id": "trace-me-42",
                    "tenant": tenant.name, "statements": 2}
    refused = [r for r in requests if r["status"] == 401]
    assert refused and "tenant" not in refused[0]
    assert all(line["level"] in ("debug", "info", "warning", "error") for line in lines)


def test_sigterm_lets_an_in_flight_write_finish_and_commit(database_url, tenant, tmp_path):
    """Graceful shutdown: a request already being received when SIGTERM
    arrives is answered, and what it acknowledged is committed."""
    port = live.free_port()
    env = {**os.environ, "LRS_DATABASE_URL": database_url, "LRS_LOG_LEVEL": "warning"}
    proc = live.serve("--port", str(port), env=env)
    url = f"http://127.0.0.1:{port}"
    registration = str(uuid.uuid4())
    statements = [{"actor": {"mbox": f"mailto:s{i}@example.org"},
                   "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                   "object": {"id": "http://example.org/shutdown"},
                   "context": {"registration": registration}} for i in range(200)]
    body = json.dumps(statements).encode()
    half = len(body) // 2
    sending = threading.Event()
    result: dict = {}

    def slow_body():
        yield body[:half]
        sending.set()
        time.sleep(1.0)  # SIGTERM arrives while the body is still coming
        yield body[half:]

    def post() -> None:
        try:
            result["response"] = httpx.post(
                f"{url}/xapi/statements", content=slow_body(), auth=(tenant.key, tenant.secret),
                headers={**V2, "Content-Type": "application/json"}, timeout=30)
        except httpx.HTTPError as exc:
            result["error"] = exc

    try:
        live.wait_ready(url, proc, 30)
        thread = threading.Thread(target=post)
        thread.start()
        assert sending.wait(10)
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        thread.join(30)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)

    assert "error" not in result, result.get("error")
    assert result["response"].status_code == 200, result["response"].text
    assert proc.returncode == 0

    async def count() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetchval(
                "SELECT count(*) FROM statements WHERE registration = $1::uuid", registration)
        finally:
            await conn.close()

    assert asyncio.run(count()) == 200


def test_workers_stop_when_lrs_serve_is_killed_and_a_restart_can_serve(database_url, tenant,
                                                                       tmp_path):
    """SIGKILL of `lrs serve --workers 2` (the OOM killer, `kill -9`): its
    workers must not live on holding the port, or the restart cannot bind it."""
    import psutil

    env = {**os.environ, "LRS_DATABASE_URL": database_url, "LRS_LOG_LEVEL": "warning"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = live.free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "lrs.log"
    with open(log_path, "w") as log_file:
        proc = live.serve("--port", str(port), "--workers", "2", env=env, stderr=log_file)
    live.wait_ready(url, proc, 60)
    workers = [p for p in psutil.Process(proc.pid).children()
               if "multiprocessing.spawn" in " ".join(p.cmdline())]
    assert len(workers) == 2
    proc.kill()
    proc.wait(timeout=10)
    gone, alive = psutil.wait_procs(workers, timeout=15)
    for worker in alive:  # not left behind by a failing test
        worker.kill()
    assert not alive, f"workers still running after their lrs serve was killed: {alive}"
    assert "is gone: stopping" in log_path.read_text()
    with live.served("--workers", "2", env=env, port=port):  # the same port
        answer = httpx.get(f"{url}/xapi/statements", auth=(tenant.key, tenant.secret), headers=V2)
        assert answer.status_code == 200
