"""Our black-box conformance suite (conformance/), run against a live server
with two tenants, as an ordinary test: a failure there fails CI. Twice: with
key/secret pairs against a server in this process, and with Bearer tokens
against `lrs serve --workers 2` (two processes sharing one database, as a
deployment scales)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lrs import accounts, config
from lrs.store import tenants
from tests import live
from tests.conftest import LiveServer, on_connection, serving


def _set_rate_limit(database_url: str, tenant: str, *, per_second: float, burst: int) -> None:
    on_connection(database_url,
                  lambda conn: tenants.set_rate_limit(conn, tenant, per_second, burst))


@pytest.fixture(scope="module")
def shipped_limits_server(settings: config.Settings) -> Iterator[LiveServer]:
    """The shared test server has small request limits; the suite sends
    1,000-statement batches and 8 MB attachments, and checks the 413 just past
    the limits, so it gets the limits the LRS ships with."""
    shipped = config.load({}, database_url=settings.database_url)
    yield from serving(settings.replace(
        max_body_bytes=shipped.max_body_bytes,
        max_statements_per_request=shipped.max_statements_per_request,
        max_document_bytes=shipped.max_document_bytes))


@dataclass
class ServedProcess:
    url: str
    settings: config.Settings
    log: Path


@pytest.fixture(scope="module")
def two_workers(database_url: str, tmp_path_factory) -> Iterator[ServedProcess]:
    """`lrs serve --workers 2` on the test database, with the limits it
    ships with and its default log level, its output kept in a file."""
    env = live.serve_env(database_url=database_url)
    log = tmp_path_factory.mktemp("two-workers") / "lrs.log"
    with open(log, "wb") as output, live.served(
            "--workers", "2", "--no-migrate", env=env, stdout=output,
            stderr=subprocess.STDOUT) as (url, _):
        yield ServedProcess(url, config.load({}, database_url=database_url), log)


def _token(database_url: str, settings: config.Settings, tenant: str, scopes: list[str]) -> str:
    return on_connection(database_url, lambda conn: accounts.issue_token(
        conn, settings, tenant=tenant, scopes=scopes,
        subject=f"conformance-{tenant}-{scopes[0]}"))["token"]


def _run_suite(server: LiveServer | ServedProcess, credentials: dict[str, str], *,
               malformed: int = live.MALFORMED) -> None:
    live.run_conformance_suite(server.url, credentials,
                               max_batch=server.settings.max_statements_per_request,
                               max_body=server.settings.max_body_bytes, malformed=malformed)


# About 75 s alone, but a busy 2-core machine can double it: the default 120 s
# would cut a passing run short. The subprocess has the same bound.
@pytest.mark.timeout(600)
@pytest.mark.long_running
def test_conformance_suite_passes_against_this_lrs(shipped_limits_server, tenant, new_tenant,
                                                   make_credential, database_url):
    server = shipped_limits_server
    other = new_tenant()
    readonly = make_credential(tenant.name, ["statements/read"])
    limited = new_tenant()
    _set_rate_limit(database_url, limited.name, per_second=5, burst=5)
    _run_suite(server, {"LRS_KEY": tenant.key, "LRS_SECRET": tenant.secret,
                        "LRS_KEY_B": other.key, "LRS_SECRET_B": other.secret,
                        "LRS_KEY_READONLY": readonly[0], "LRS_SECRET_READONLY": readonly[1],
                        "LRS_KEY_LIMITED": limited.key, "LRS_SECRET_LIMITED": limited.secret})


@pytest.mark.timeout(600)
@pytest.mark.long_running
def test_conformance_suite_passes_with_bearer_tokens_against_two_workers(
        two_workers, settings, new_tenant, database_url):
    """The same suite with Bearer tokens only (LRS_TOKEN and its kin, no key
    or secret), as an agency's platform holding JWTs, against two worker
    processes: concurrent writes, duplicates, paging and voiding now cross
    processes, and so do credential changes (each worker's access cache)."""
    server = two_workers
    a, b, limited = new_tenant(), new_tenant(), new_tenant()
    _set_rate_limit(database_url, limited.name, per_second=5, burst=5)
    token = lambda tenant, scopes: _token(database_url, settings, tenant.name, scopes)  # noqa: E731
    _run_suite(server, {"LRS_TOKEN": token(a, ["all"]), "LRS_TOKEN_B": token(b, ["all"]),
                        "LRS_TOKEN_READONLY": token(a, ["statements/read"]),
                        "LRS_TOKEN_LIMITED": token(limited, ["all"])},
               malformed=live.MALFORMED_ELSEWHERE)
    # Every error the suite caused was answered 4xx: none was logged as a fault.
    errors = live.logged_errors(server.log)
    assert not errors, errors[:3]
