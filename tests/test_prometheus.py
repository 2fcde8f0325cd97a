"""A real Prometheus scrapes a real multi-worker `lrs serve` while
statements are posted; its count must equal what we posted, and our
exposition must pass `promtool check metrics`.

Prometheus comes from Debian's `prometheus` package, installed here when it
is missing (CI machines are fresh). Loopback only, every wait bounded."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests import live

V2 = {"X-Experience-API-Version": "2.0.0"}


@pytest.fixture
def multiworker_lrs(database_url):
    env = {**os.environ, "LRS_DATABASE_URL": database_url, "LRS_LOG_LEVEL": "warning"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with live.served("--workers", "2", env=env) as (url, _):
        yield url


def test_the_workers_metrics_files_go_when_serving_ends(database_url, tmp_path):
    """`lrs serve --workers N` keeps its workers' metrics files in a new
    temporary directory: removed when it stops, not left in /tmp by every
    start (160 were, in one day of tests and benchmarks)."""
    env = {**os.environ, "LRS_DATABASE_URL": database_url, "LRS_LOG_LEVEL": "warning",
           "TMPDIR": str(tmp_path)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # One left by an lrs serve killed before it could remove it (its pid has
    # exited), and one of a process still running: the first goes at start.
    exited = subprocess.Popen(["true"])
    exited.wait()
    orphaned = tmp_path / f"lrs-metrics-{exited.pid}-x1"
    in_use = tmp_path / f"lrs-metrics-{os.getpid()}-x2"
    for path in (orphaned, in_use):
        path.mkdir()
        (path / "counter_1.db").write_bytes(b"\0" * 16)
    with live.served("--workers", "2", env=env) as (url, _):
        assert httpx.get(f"{url}/metrics").status_code == 200
        held = [p for p in tmp_path.glob("lrs-metrics-*") if p != in_use]
        assert len(held) == 1 and any(held[0].iterdir()), held
        assert not orphaned.exists()
    assert not held[0].exists()
    assert in_use.exists()


def test_the_database_is_up_whichever_worker_answers_the_scrape(multiworker_lrs):
    """Found by a probe of the operations surface: with two workers the
    gauge was the minimum over them, and a worker that never answered a
    scrape kept the 0 it starts with, so lrs_database_up stayed 0 (and
    LRSDatabaseNotReady firing) while /ready answered 200. A kept-alive
    connection stays with one worker, as a scraper's does."""
    with httpx.Client(base_url=multiworker_lrs) as c:
        for _ in range(5):
            assert c.get("/ready").status_code == 200
            up = [line for line in c.get("/metrics").text.splitlines()
                  if line.startswith("lrs_database_up")]
            assert [float(line.rsplit(" ", 1)[1]) for line in up] == [1.0], up


@live.MAY_INSTALL
def test_prometheus_counts_what_was_posted(multiworker_lrs, tenant, tmp_path):
    live.ensure_debian_package("prometheus", "prometheus", "promtool")
    url = multiworker_lrs
    prom_port = live.free_port()
    target = url.removeprefix("http://")
    (tmp_path / "prometheus.yml").write_text(f"""
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: lrs
    static_configs:
      - targets: ["{target}"]
""")
    prom = subprocess.Popen(
        ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Several requests, so that both workers store some.
        posted = 0
        with httpx.Client(base_url=url, auth=(tenant.key, tenant.secret), headers=V2) as c:
            for i in range(20):
                batch = [{"actor": {"mbox": f"mailto:l{i}-{j}@example.org"},
                          "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                          "object": {"id": f"http://example.org/course/{i}"}} for j in range(5)]
                assert c.post("/xapi/statements", json=batch).status_code == 200
                posted += len(batch)

        exposition = httpx.get(f"{url}/metrics").text
        check = subprocess.run(["promtool", "check", "metrics"], input=exposition,
                               capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
        # Aggregated across the two workers:
        line = next(row for row in exposition.splitlines()
                    if row.startswith("lrs_statements_stored_total") and tenant.name in row)
        assert float(line.rsplit(" ", 1)[1]) == posted

        api = f"http://127.0.0.1:{prom_port}/api/v1/query"
        query = f'sum(lrs_statements_stored_total{{tenant="{tenant.name}"}})'

        def scraped() -> float | None:
            result = httpx.get(api, params={"query": query}, timeout=2).json()["data"]["result"]
            return float(result[0]["value"][1]) if result else None

        assert live.wait_until(lambda: scraped() == posted, 60, "Prometheus to scrape the count")
        series = httpx.get(f"http://127.0.0.1:{prom_port}/api/v1/label/__name__/values",
                           timeout=2).json()["data"]
        assert {"lrs_http_requests_total", "lrs_http_request_duration_seconds_bucket",
                "lrs_build_info"} <= set(series)
    finally:
        prom.terminate()
        prom.wait(timeout=30)


@live.MAY_INSTALL
def test_the_alerts_in_the_operations_guide_are_valid_rules_on_our_metrics(tmp_path):
    # docs/operations.md's alerts are meant to be pasted as they are: promtool
    # must accept them, and each must name metrics the LRS exports.
    live.ensure_debian_package("prometheus", "prometheus", "promtool")
    guide = (Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text()
    rules = re.search(r"## Alerts\n\n```yaml\n(.*?)```", guide, re.DOTALL)
    assert rules, "docs/operations.md has lost its alerts block"
    (tmp_path / "rules.yml").write_text(rules.group(1))
    check = subprocess.run(["promtool", "check", "rules", str(tmp_path / "rules.yml")],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    from prometheus_client import REGISTRY

    import lrs.metrics  # noqa: F401 - declares the metrics in the default registry
    exported = {m.name for m in REGISTRY.collect()}
    # Families are named without _total and _bucket.
    named = set(re.findall(r"\b(lrs_[a-z_]+?)(?:_bucket|_total)?\b", rules.group(1)))
    assert named and named <= exported, sorted(named - exported)


def test_the_dashboard_queries_name_metrics_the_lrs_exports():
    # docs/grafana/lrs-dashboard.json is imported as it is: a panel on a
    # metric that was renamed or never existed would stay empty, silently.
    from prometheus_client import REGISTRY

    import lrs.metrics  # noqa: F401 - declares the metrics in the default registry
    dashboard = json.loads((Path(__file__).resolve().parents[1] / "docs" / "grafana"
                            / "lrs-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    exported = {m.name for m in REGISTRY.collect()}
    named = {name for expr in exprs
             for name in re.findall(r"\b(lrs_[a-z_]+?)(?:_bucket|_total)?\b", expr)}
    assert {"lrs_http_connections", "lrs_http_connections_closed"} <= named
    assert named <= exported, sorted(named - exported)


def test_the_pool_gauge_counts_the_connections_open(empty_database):
    """Found by a probe of the operations surface: lrs_db_pool_connections
    was the pools' size when they opened, while asyncpg opened more as
    requests needed them (4 reported, 17 open), so the guide's pool alert
    compared in-use connections with a wrong total."""
    env = live.serve_env(database_url=empty_database, pool_min="1", log_level="warning")
    with live.served("--workers", "2", env=env) as (url, _):
        # Requests at once that each hold a connection: the pools grow past 1.
        with ThreadPoolExecutor(32) as pool:
            for _ in range(5):
                assert set(pool.map(lambda _: httpx.get(f"{url}/ready").status_code,
                                    range(64))) == {200}

        async def open_connections() -> int:
            conn = await asyncpg.connect(empty_database)
            try:
                return await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = 'lrs'")
            finally:
                await conn.close()

        time.sleep(1.5)  # each worker reports its pool's size every second
        opened = asyncio.run(open_connections())
        assert opened > 2, "the pools did not grow: the test shows nothing"
        assert live.metric_total(url, "lrs_db_pool_connections") == opened


def test_the_live_gauges_of_a_killed_worker_are_forgotten(database_url, tmp_path):
    """Found by a probe of the operations surface: after a worker was
    killed (SIGKILL, the OOM killer), what it held when it died stayed in
    the live gauges for good: an idle server reported connections open and
    requests in flight. uvicorn replaces the worker; its gauges must go.
    Its death is a warning in the log (uvicorn says it at info), shown at
    LRS_LOG_LEVEL=warning."""
    env = live.serve_env(database_url=database_url, log_level="warning")
    log = tmp_path / "lrs.log"
    with open(log, "wb") as output, live.served("--workers", "2", env=env, stdout=output,
                                                stderr=subprocess.STDOUT) as (url, serve):
        port = int(url.rsplit(":", 1)[1])
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(12)]
        try:
            live.wait_until(lambda: live.metric_total(url, "lrs_http_connections") >= 12, 10,
                            "the idle connections to be counted")
            killed = live.workers_of(serve.pid)
            for worker in killed:
                os.kill(worker, signal.SIGKILL)
            live.wait_until(lambda: len(live.workers_of(serve.pid)) == 2 and httpx.get(
                f"{url}/ready", timeout=1).status_code == 200, 60, "two new workers")
        finally:
            for sock in idle:
                sock.close()
        # What is left: the scrape's own connection, and perhaps /ready's closing.
        assert live.metric_total(url, "lrs_http_connections") <= 2
        assert live.metric_total(url, "lrs_http_requests_in_flight") <= 1
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    deaths = [line for line in lines if line["message"].endswith("] died")]
    assert sorted(line["message"] for line in deaths) == sorted(
        f"Child process [{pid}] died" for pid in killed), lines
    assert {line["level"] for line in deaths} == {"warning"}
    assert all(line["level"] != "info" for line in lines), "info lines at LRS_LOG_LEVEL=warning"
