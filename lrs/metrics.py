"""The Prometheus metrics, declared in one place.

Label values are bounded: route templates (never raw paths), methods, status
codes, tenant names, named queries; never statement ids, agents, activity ids
or credential keys.

With several workers, prometheus-client's multiprocess mode aggregates the
per-process files in $PROMETHEUS_MULTIPROC_DIR; `lrs serve` sets that
variable before any worker imports this module, because prometheus-client
picks its storage when it is imported."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

from lrs import __version__, orphan

# One exposition, whatever the number of workers: the multiprocess collector
# of several serves neither the process, platform and garbage-collector
# families nor the `*_created` series, so one worker does not either, and
# every name is one of docs/operations.md's table (each starts with lrs_).
disable_created_metrics()
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.unregister(_collector)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "lrs_http_requests_total", "HTTP requests answered.", ["method", "route", "status"])
HTTP_DURATION = Histogram(
    "lrs_http_request_duration_seconds", "Time to answer an HTTP request.",
    ["method", "route", "status"], buckets=_LATENCY_BUCKETS)
HTTP_IN_FLIGHT = Gauge(
    "lrs_http_requests_in_flight", "HTTP requests being served.", multiprocess_mode="livesum")
HTTP_CONNECTIONS = Gauge(
    "lrs_http_connections", "HTTP connections open (LRS_MAX_CONNECTIONS per worker).",
    multiprocess_mode="livesum")
CONNECTIONS_CLOSED = Counter(
    "lrs_http_connections_closed_total",
    "Connections the LRS closed for their client's pace or number: idle (nothing sent within "
    "LRS_HEADER_TIMEOUT_SECONDS of opening), slow_headers (a request's headers took longer; "
    "answered 408), shed (sent nothing yet, or kept alive between requests, when a new one "
    "came to a worker with LRS_MAX_CONNECTIONS open), over_limit (a new one, answered 503: "
    "all were busy), slow_reader (a response not taken in within LRS_BODY_TIMEOUT_SECONDS "
    "plus 1 s per LRS_BODY_MIN_RATE bytes: dropped), large_headers (a request's line and "
    "headers, or trailer fields, past LRS_MAX_HEADER_BYTES: answered 431; a target past it, "
    "414), bad_request (not parseable as HTTP/1.1, or without one Host: answered 400), "
    "pipeline_full (more than 16 "
    "requests pipelined behind the one in flight: closed after answering those), unread_body "
    "(a body its answer left unread, past twice LRS_MAX_BODY_BYTES or past its time: "
    "dropped).", ["reason"])

DB_POOL_SIZE = Gauge(
    "lrs_db_pool_connections", "Database connections open in the pool.", multiprocess_mode="livesum")
DB_POOL_IN_USE = Gauge(
    "lrs_db_pool_connections_in_use", "Database connections lent out of the pool.",
    multiprocess_mode="livesum")
DB_POOL_WAIT = Histogram(
    "lrs_db_pool_wait_seconds", "Time spent waiting for a pooled connection.",
    buckets=_LATENCY_BUCKETS)
DB_QUERY_DURATION = Histogram(
    "lrs_db_query_duration_seconds", "Database query latency by named query.", ["query"],
    buckets=_LATENCY_BUCKETS)

# The latest check, whichever worker made it: only the worker answering a
# scrape checks, and a minimum over workers kept the 0 every worker starts
# with (those that never answered one), so the gauge never rose to 1.
DB_UP = Gauge(
    "lrs_database_up", "1 when the database answered the latest check (made at each scrape), "
    "else 0.", multiprocess_mode="livemostrecent")
BUILD_INFO = Gauge(
    "lrs_build_info", "Always 1; labels carry the build.", ["version"], multiprocess_mode="max")

AUTH_FAILURES = Counter(
    "lrs_auth_failures_total", "Requests refused authentication, by reason.", ["reason"])
JWKS_FETCHES = Counter(
    "lrs_jwks_fetches_total", "Fetches of agencies' identity provider key sets (JWKS), by "
    "outcome: ok or failed.", ["outcome"])
TENANT_REQUESTS = Counter(
    "lrs_tenant_requests_total", "Authenticated xAPI requests, by tenant.", ["tenant"])
RATE_LIMITED = Counter(
    "lrs_rate_limited_total", "Requests refused for the credential's rate, by tenant.", ["tenant"])
STATEMENTS_STORED = Counter(
    "lrs_statements_stored_total", "Statements newly stored.", ["tenant", "version"])
STATEMENTS_REJECTED = Counter(
    "lrs_statements_rejected_total", "Statement requests rejected, by reason class.", ["reason"])
WRITE_BACKLOG_BYTES = Gauge(
    "lrs_write_backlog_bytes", "Bytes of statement and document writes admitted and not yet "
    "answered (LRS_WRITE_BACKLOG_BYTES per worker).", multiprocess_mode="livesum")
WRITE_BACKLOG_WAITING = Gauge(
    "lrs_write_backlog_waiting",
    "Statement and document writes waiting for room in the write backlog.",
    multiprocess_mode="livesum")
WRITES_REFUSED_BUSY = Counter(
    "lrs_writes_refused_busy_total", "Statement and document writes answered 429 after waiting "
    "LRS_WRITE_BACKLOG_WAIT_SECONDS for room in the write backlog, by tenant.", ["tenant"])
STATEMENT_BATCH_SIZE = Histogram(
    "lrs_statement_batch_size", "Statements per accepted write request.",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500))
GROUP_COMMIT_SIZE = Histogram(
    "lrs_group_commit_statements", "Statements written per database transaction of the group commit.",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000))
GROUP_COMMIT_BUSY = Counter(
    "lrs_group_commit_busy_total",
    "Write requests a group commit left for a later one: another worker was writing their "
    "tenant.")
GROUP_COMMIT_WAIT = Histogram(
    "lrs_group_commit_wait_seconds", "Time a write request waited to join a group commit.",
    buckets=_LATENCY_BUCKETS)
STATEMENT_QUERY_DURATION = Histogram(
    "lrs_statement_query_duration_seconds",
    "Time of the page query of GET /statements, by the filters it used.", ["filters"],
    buckets=_LATENCY_BUCKETS)
VOIDS = Counter("lrs_statements_voided_total", "Statements voided.", ["tenant"])
DOCUMENTS_WRITTEN = Counter(
    "lrs_documents_written_total", "State and profile documents changed, by kind and method.",
    ["kind", "method"])
ATTACHMENT_BYTES = Counter(
    "lrs_attachment_bytes_stored_total", "Bytes of attachment content newly stored.", ["tenant"])


# The labelled series handed out so far, by metric and label values.
_SERIES: dict[tuple, Any] = {}


def series(metric: Any, *values: str) -> Any:
    """`metric.labels(*values)`, kept: labels() checks its arguments and
    looks the series up under a lock on every call (~1.7 us), several times
    a request. Label values are bounded (see above), and no series is ever
    removed, so what is kept stays the metric's own."""
    found = _SERIES.get((metric, values))
    if found is None:
        found = _SERIES[metric, values] = metric.labels(*values)
    return found


def mark_build() -> None:
    BUILD_INFO.labels(version=__version__).set(1)


def render() -> tuple[bytes, str]:
    """The exposition text of every metric, of all workers when there are several."""
    if path := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _forget_exited_workers(path)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def _forget_exited_workers(path: str) -> None:
    """The live gauges (in flight, connections, pool, backlog) of workers
    that have exited. prometheus-client sums a live gauge over the files of
    processes not marked dead, and uvicorn, which replaces a worker that
    died (a SIGKILL, the OOM killer), marks none: what the dead worker held
    at its end was reported for ever, an idle server showing requests in
    flight. Counters and histograms keep its files: what it counted stays
    counted."""
    for name in os.listdir(path):
        if name.startswith("gauge_live") and name.endswith(".db"):
            pid = name[:-3].rpartition("_")[2]
            if pid.isdigit() and not orphan.running(int(pid)):
                multiprocess.mark_process_dead(int(pid), path)
