"""The LRS behind PgBouncer in transaction mode, as docs/operations.md
("Behind PgBouncer") tells operators to run it: migrated past the pooler,
LRS_ACCESS_CACHE_SECONDS=0 (no LISTEN through it), LRS_DB_STATEMENT_CACHE=0
(no named prepared statements across its server connections), and the
planner setting the LRS cannot pass at startup set by the pooler on its
server connections. The whole black-box conformance suite must pass
through it, and the LRS must log no error.

PgBouncer comes from Debian's `pgbouncer` package, installed here when it
is missing (CI machines are fresh). Loopback only, every wait bounded."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest

from lrs import config
from lrs.store import tenants
from lrs.store.db import POOLER_LACKS
from tests import live
from tests.conftest import on_connection, run

# The settings PgBouncer refuses from the LRS, run on its server connections
# instead (docs/operations.md, "Behind PgBouncer").
_SETS = "; ".join(f"SET {name} = {value}" for name, value in POOLER_LACKS.items())


@pytest.fixture(scope="module")
def pgbouncer(database_url: str, tmp_path_factory) -> Iterator[str]:
    """PgBouncer in transaction mode in front of the test database, with
    three server connections; the URL the LRS connects to."""
    live.ensure_debian_package("pgbouncer", "pgbouncer")
    parts = urlsplit(database_url)
    socket_dir = parse_qs(parts.query)["host"][0]  # the embedded server: a Unix socket
    folder = tmp_path_factory.mktemp("pgbouncer")
    port = live.free_port()
    database = (f"host={socket_dir} dbname={parts.path.lstrip('/')} user={parts.username} "
                f"connect_query='{_SETS}'")
    (folder / "pgbouncer.ini").write_text(f"""
[databases]
lrs = {database}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 3
max_client_conn = 200
""")
    command = [shutil.which("pgbouncer"), str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # it will not run as root: as the owner of the database's socket
        command += ["-u", pwd.getpwuid(os.stat(socket_dir).st_uid).pw_name]
        os.chmod(folder, 0o755)
    log = folder / "pgbouncer.log"
    with open(log, "wb") as output:
        proc = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    url = f"postgresql://{parts.username}@127.0.0.1:{port}/lrs"

    async def answers() -> bool:
        conn = await asyncpg.connect(url, statement_cache_size=0, timeout=2)
        try:
            return all([await conn.fetchval(f"SHOW {name}") == value
                        for name, value in POOLER_LACKS.items()])
        finally:
            await conn.close()

    try:
        try:
            live.wait_until(lambda: proc.poll() is None and _quietly(answers), 30, "PgBouncer")
        except AssertionError:
            raise AssertionError(f"PgBouncer did not answer: {log.read_text()[-800:]}") from None
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _quietly(check) -> bool:
    try:
        return run(check())
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False


@pytest.mark.timeout(600)
@pytest.mark.long_running
def test_conformance_suite_passes_through_pgbouncer(pgbouncer, database_url, tenant, new_tenant,
                                                    make_credential, tmp_path):
    env = live.serve_env(database_url=pgbouncer, access_cache_seconds="0",
                         db_statement_cache="0")
    other, limited = new_tenant(), new_tenant()
    readonly = make_credential(tenant.name, ["statements/read"])
    on_connection(database_url, lambda conn: tenants.set_rate_limit(conn, limited.name, 5, 5))
    shipped = config.load({})
    log = tmp_path / "lrs.log"
    with open(log, "wb") as output, live.served("--no-migrate", env=env, stdout=output,
                                                stderr=subprocess.STDOUT) as (url, _):
        live.run_conformance_suite(
            url, {"LRS_KEY": tenant.key, "LRS_SECRET": tenant.secret,
                  "LRS_KEY_B": other.key, "LRS_SECRET_B": other.secret,
                  "LRS_KEY_READONLY": readonly[0], "LRS_SECRET_READONLY": readonly[1],
                  "LRS_KEY_LIMITED": limited.key, "LRS_SECRET_LIMITED": limited.secret},
            max_batch=shipped.max_statements_per_request, max_body=shipped.max_body_bytes,
            malformed=live.MALFORMED_ELSEWHERE)
    assert not live.logged_errors(Path(log)), live.logged_errors(Path(log))[:3]
