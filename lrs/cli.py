"""`lrs`: a thin command line over the library.

Every command works on the same database as the server: LRS_DATABASE_URL
when set, otherwise the embedded PostgreSQL in the data directory (joined,
not restarted, when `lrs serve` already runs it)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from lrs import __version__, accounts, backup, config, embedded, logs, orphan, ratelimit
from lrs.auth import tokens
from lrs.auth.principal import ADMIN_SCOPE, SCOPES
from lrs.config import Settings, SettingsError
from lrs.errors import LRSError
from lrs.store import migrate, tenants


@contextlib.contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    if settings.database_url:
        yield settings.database_url
    else:
        with embedded.running(settings.resolved_data_dir, settings.embedded_wal_mb) as url:
            yield url


def _run(settings: Settings, job: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    with database_url(settings) as url:
        return _run_on(url, settings, job)


def _run_admin(settings: Settings, job: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    """`job` on a database brought up to date as `lrs serve` would bring it:
    so that `lrs tenant create` on a new data folder works, instead of
    failing on a table that is not there yet."""
    async def up_to_date_then_job(conn: asyncpg.Connection) -> Any:
        await _ensure_schema(conn, settings)
        return await job(conn)

    return _run(settings, up_to_date_then_job)


async def _ensure_schema(conn: asyncpg.Connection, settings: Settings) -> None:
    if settings.migrate:
        await migrate.apply(conn)
    elif await migrate.pending(conn):
        raise LRSError("migrations are pending: run `lrs migrate` first "
                       "(or let them apply: drop --no-migrate / LRS_MIGRATE=false)")


def _run_on(url: str, settings: Settings,
            job: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        conn = await asyncpg.connect(url, statement_cache_size=settings.db_statement_cache)
        try:
            return await job(conn)
        finally:
            await conn.close()

    return asyncio.run(main())


def _print(args: argparse.Namespace, obj: Any, text: str) -> None:
    print(orjson.dumps(obj, default=str).decode() if args.json else text)


# -- serve -----------------------------------------------------------------

def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn  # imported here: the other commands need no server

    from lrs.http import connections

    # This process's own lines (the embedded PostgreSQL's start, uvicorn's
    # supervisor of several workers) as the workers write theirs.
    logs.configure(settings.log_level)
    _check_listen_address(settings.host, settings.port, settings.workers)
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(database_url(settings))

        async def prepare(conn: asyncpg.Connection) -> dict | None:
            await _ensure_schema(conn, settings)
            return await accounts.bootstrap(conn)

        async def connect_and_prepare() -> dict | None:
            conn = await asyncpg.connect(url, statement_cache_size=settings.db_statement_cache)
            try:
                return await prepare(conn)
            finally:
                await conn.close()

        created = asyncio.run(connect_and_prepare())
        if created is not None:
            _announce(created, settings)
        # Workers are fresh processes: they read their settings from LRS_*.
        os.environ["LRS_DATABASE_URL"] = url
        for name in ("host", "port", "workers", "data_dir"):
            os.environ["LRS_" + name.upper()] = str(getattr(settings, name))
        os.environ[orphan.PARENT_ENV] = str(os.getpid())  # workers stop without us
        if settings.workers > 1:
            # Before any worker imports prometheus-client (see lrs.metrics);
            # the workers' files go with the directory when serving ends.
            # The rate limits' table is shared there too (lrs.ratelimit).
            _remove_orphaned_metrics_dirs()
            metrics_dir = stack.enter_context(tempfile.TemporaryDirectory(
                prefix=f"{_METRICS_DIR_PREFIX}{os.getpid()}-"))
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
            rate_buckets = Path(metrics_dir) / "rate-buckets"
            ratelimit.make_table(rate_buckets)
            os.environ[ratelimit.RATE_BUCKETS_ENV] = str(rate_buckets)
        print(f"lrs {__version__}: xAPI at {settings.base_url}/xapi/ "
              f"({settings.workers} worker{'s' if settings.workers > 1 else ''})", flush=True)
        # uvicorn shuts down gracefully, then raises the signal that stopped
        # it again under the handler it found: make that handler unwind the
        # stack, so that the embedded PostgreSQL is stopped on the way out.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _exit_quietly)
        _raise_open_file_limit(settings.workers * settings.max_connections)
        uvicorn.run(
            "lrs.app:app_from_env", factory=True, host=settings.host, port=settings.port,
            workers=settings.workers, log_config=None, access_log=False,
            timeout_graceful_shutdown=settings.shutdown_timeout, server_header=False,
            **connections.server_options(settings))
    return 0


def _check_listen_address(host: str, port: int, workers: int) -> None:
    """Bind to (host, port) as uvicorn will, and let go: a name that does not
    resolve, an address of another machine or a port in use is an error
    naming the setting, before the database starts, not uvicorn's bare
    "[Errno -2] Name or service not known" after it."""
    try:
        for family, address in _listen_addresses(host, port, workers):
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # as asyncio
                sock.bind(address)
    except socket.gaierror as exc:
        raise SettingsError(f"LRS_HOST (--host) {host!r} cannot be resolved: {exc.strerror}") from None
    except OSError as exc:
        raise SettingsError(f"cannot listen on LRS_HOST {host!r}, LRS_PORT {port} "
                            f"(--host, --port): {exc.strerror}") from None


def _listen_addresses(host: str, port: int, workers: int) -> list[tuple[int, tuple]]:
    """Where uvicorn listens: with several workers one socket, IPv6 when the
    host has a colon (its Config.bind_socket); with one, asyncio's
    create_server binds every address the host resolves to."""
    if workers > 1:
        return [(socket.AF_INET6 if ":" in host else socket.AF_INET, (host, port))]
    found = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    return list(dict.fromkeys((family, address) for family, _, _, _, address in found))


_METRICS_DIR_PREFIX = "lrs-metrics-"


def _remove_orphaned_metrics_dirs() -> None:
    """The metrics directories of `lrs serve`s that were killed (SIGKILL, the
    OOM killer) before they could remove their own: named by their pid,
    which no longer runs."""
    for path in Path(tempfile.gettempdir()).glob(f"{_METRICS_DIR_PREFIX}*-*"):
        pid = path.name.removeprefix(_METRICS_DIR_PREFIX).partition("-")[0]
        if pid.isdigit() and not orphan.running(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


# Descriptors beyond the connections: the pool's, the embedded PostgreSQL's
# pipes and logs, the metrics files, the modules.
_SPARE_FILES = 256


def _raise_open_file_limit(connections: int) -> None:
    """Make room for LRS_MAX_CONNECTIONS per worker: the soft limit on open
    files is often 1,024 while the hard one is far higher. Past the soft
    limit the server could no longer accept connections at all."""
    try:
        import resource
    except ImportError:  # not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + _SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        if raised < wanted:
            print(f"lrs: the open-file limit ({hard}) is below LRS_MAX_CONNECTIONS x workers "
                  f"plus {_SPARE_FILES}: connections past it are refused by the system",
                  file=sys.stderr, flush=True)


def _exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _announce(created: dict, settings: Settings) -> None:
    base = settings.base_url
    statement = ('{"actor":{"mbox":"mailto:learner@example.org","name":"A Learner"},'
                 '"verb":{"id":"http://adlnet.gov/expapi/verbs/completed","display":{"en-US":"completed"}},'
                 '"object":{"id":"http://example.org/courses/induction"}}')
    print(f"""
First start: created tenant "{created['tenant']}" and a credential with every scope.
The secret is shown this once; it is stored only as a hash.

  key:    {created['key']}
  secret: {created['secret']}

Post a statement:

  curl -u '{created['key']}:{created['secret']}' -H 'X-Experience-API-Version: 2.0.0' \\
       -H 'Content-Type: application/json' -d '{statement}' {base}/xapi/statements
""", flush=True)


# -- migrate ---------------------------------------------------------------

def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    done = _run(settings, migrate.apply)
    for m in done:
        print(f"applied {m.version:04d}_{m.name}.sql")
    print("database is up to date" if not done else f"{len(done)} migration(s) applied")
    return 0


# -- backup ----------------------------------------------------------------

def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    backup.check_destination(path)  # before an embedded PostgreSQL is started for nothing
    with database_url(settings) as url:
        backup.dump(url, path, server=_run_on(url, settings, backup.server_major))
    print(f"backed up to {path} ({path.stat().st_size:,} bytes)")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    backup.check_backup(path)  # before an embedded PostgreSQL is made for nothing

    async def target(conn: asyncpg.Connection) -> tuple[bool, int]:
        return await migrate.any_applied(conn), await backup.server_major(conn)

    with database_url(settings) as url:
        holds_an_lrs, server = _run_on(url, settings, target)
        if holds_an_lrs:
            raise backup.BackupError(
                "the database already holds an LRS: restore into a new, empty database "
                "(or a new --data-dir), then point the LRS at it")
        backup.restore(url, path, server=server)
        _run_on(url, settings, migrate.gather_statistics)
    print(f"restored {path}; the LRS can serve it (migrations newer than the backup are "
          "applied when it starts)")
    return 0


# -- tenant ----------------------------------------------------------------

def cmd_tenant_create(args: argparse.Namespace, settings: Settings) -> int:
    tenant_id = _run_admin(settings, lambda conn: accounts.create_tenant(conn, args.name))
    _print(args, {"id": tenant_id, "name": args.name}, f"created tenant {args.name!r}")
    return 0


def cmd_tenant_list(args: argparse.Namespace, settings: Settings) -> int:
    rows = _run_admin(settings, tenants.list_tenants)
    if args.json:
        _print(args, [{"id": t.id, "name": t.name, "created_at": t.created_at} for t in rows], "")
    for t in rows if not args.json else []:
        print(f"{t.name}\t{t.created_at:%Y-%m-%d %H:%M}")
    return 0


# -- credential ------------------------------------------------------------

def cmd_credential_create(args: argparse.Namespace, settings: Settings) -> int:
    created = _run_admin(settings, lambda conn: accounts.create_credential(
        conn, tenant=args.tenant, scopes=args.scope, label=args.label))
    _print(args, created,
           f"key:    {created['key']}\nsecret: {created['secret']}\n"
           f"tenant: {created['tenant']}\nscopes: {' '.join(created['scopes'])}\n"
           "(the secret is shown this once)")
    return 0


def cmd_credential_list(args: argparse.Namespace, settings: Settings) -> int:
    async def listed(conn: asyncpg.Connection) -> list[dict]:
        if args.tenant is not None:
            await tenants.tenant_id(conn, args.tenant)  # no such tenant: an error, as /admin says
        return await tenants.list_credentials(conn, args.tenant)

    rows = _run_admin(settings, listed)
    if args.json:
        _print(args, rows, "")
        return 0
    for r in rows:
        state = f"revoked {r['revoked_at']:%Y-%m-%d}" if r["revoked_at"] else "active"
        print(f"{r['key']}\t{r['tenant']}\t{' '.join(r['scopes'])}\t{state}\t{r['label']}")
    return 0


def cmd_credential_revoke(args: argparse.Namespace, settings: Settings) -> int:
    _run_admin(settings, lambda conn: tenants.revoke_credential(conn, args.key))
    print(f"revoked {args.key}")
    return 0


# -- token -----------------------------------------------------------------

def cmd_token_issue(args: argparse.Namespace, settings: Settings) -> int:
    issued = _run_admin(settings, lambda conn: accounts.issue_token(
        conn, settings, tenant=args.tenant, scopes=args.scope,
        subject=args.subject or tokens.own_subject("cli", args.tenant), ttl=args.ttl))
    _print(args, issued, issued["token"])
    return 0


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    before = _run_admin(settings, lambda conn: tenants.revoke_tokens(conn, args.tenant))
    _print(args, {"tenant": args.tenant, "tokens_revoked_before": before.isoformat()},
           f"every token the LRS issued for {args.tenant} before {before.isoformat()} is "
           "revoked (its agency's own identity provider's tokens are not affected)")
    return 0


def cmd_token_rotate_key(args: argparse.Namespace, settings: Settings) -> int:
    rotated = _run_admin(settings, lambda conn: accounts.rotate_signing_key(conn, settings))
    _print(args, rotated, f"a new signing key since {rotated['rotated_at']}: every token the "
           "LRS issued before, for every tenant, and every `more` cursor are refused")
    return 0


# -- parser ----------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lrs", description="An xAPI 1.0.3 and 2.0 Learning Record Store.")
    parser.add_argument("--version", action="version", version=f"lrs {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(parent: Any, name: str, help: str, handler: Callable) -> argparse.ArgumentParser:
        sub = parent.add_parser(name, help=help, description=help)
        sub.set_defaults(handler=handler)
        sub.add_argument("--data-dir", help="embedded PostgreSQL data folder (LRS_DATA_DIR)")
        return sub

    serve = command(commands, "serve", "Run the LRS (the embedded PostgreSQL too, unless "
                    "LRS_DATABASE_URL is set).", cmd_serve)
    serve.add_argument("--host", help="address to listen on (LRS_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (LRS_PORT, default 8080)")
    serve.add_argument("--workers", type=int, help="worker processes (LRS_WORKERS, default 1)")
    serve.add_argument("--no-migrate", dest="migrate", action="store_false", default=None,
                       help="do not apply pending migrations (refuse to start if any)")

    command(commands, "migrate", "Apply pending database migrations.", cmd_migrate)

    dump = command(commands, "backup", "Write a backup of the whole database (every tenant) "
                   "to FILE while the LRS keeps serving.", cmd_backup)
    dump.add_argument("file", help="the backup file to write (pg_dump custom format)")
    load = command(commands, "restore", "Restore a backup into a database that holds no LRS "
                   "yet (a new --data-dir, or a new LRS_DATABASE_URL).", cmd_restore)
    load.add_argument("file", help="a file written by `lrs backup`")

    tenant = commands.add_parser("tenant", help="Create and list tenants (agencies).",
                                 description="Create and list tenants (agencies).")
    tenant_commands = tenant.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = command(tenant_commands, "create", "Create a tenant.", cmd_tenant_create)
    create.add_argument("name", help="letters, digits, '.', '_' or '-'; at most 63")
    create.add_argument("--json", action="store_true", help="print one JSON object")
    listing = command(tenant_commands, "list", "List tenants.", cmd_tenant_list)
    listing.add_argument("--json", action="store_true", help="print JSON")

    cred = commands.add_parser("credential", help="Key/secret pairs for HTTP Basic.",
                               description="Key/secret pairs for HTTP Basic.")
    cred_commands = cred.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = command(cred_commands, "create", "Create a key/secret pair; the secret is "
                     "printed once.", cmd_credential_create)
    create.add_argument("--tenant", required=True)
    create.add_argument("--scope", required=True, action="append", choices=(*SCOPES, ADMIN_SCOPE),
                        help="an xAPI scope; repeat for several")
    create.add_argument("--label", default="", help="a note for operators")
    create.add_argument("--json", action="store_true", help="print one JSON object")
    listing = command(cred_commands, "list", "List credentials (never their secrets).",
                      cmd_credential_list)
    listing.add_argument("--tenant")
    listing.add_argument("--json", action="store_true", help="print JSON")
    revoke = command(cred_commands, "revoke", "Revoke a credential; effective on the next "
                     "request.", cmd_credential_revoke)
    revoke.add_argument("key")

    token = commands.add_parser("token", help="Signed JWTs for Bearer authentication.",
                                description="Signed JWTs for Bearer authentication.")
    token_commands = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    issue = command(token_commands, "issue", "Issue a signed JWT for a tenant.", cmd_token_issue)
    issue.add_argument("--tenant", required=True)
    issue.add_argument("--scope", required=True, action="append", choices=(*SCOPES, ADMIN_SCOPE),
                       help="an xAPI scope; repeat for several")
    issue.add_argument("--ttl", type=int, help="lifetime in seconds (LRS_TOKEN_TTL)")
    issue.add_argument("--subject", help="the token's subject (default cli:TENANT)")
    issue.add_argument("--json", action="store_true", help="print one JSON object")
    revoke = command(token_commands, "revoke", "Revoke every token the LRS has issued for a "
                     "tenant so far (lrs token issue, /oauth/token, /admin/tokens); effective "
                     "on the next request.", cmd_token_revoke)
    revoke.add_argument("--tenant", required=True)
    revoke.add_argument("--json", action="store_true", help="print one JSON object")
    rotate_key = command(token_commands, "rotate-key", "Replace the key the LRS signs its "
                         "tokens and `more` cursors with (after a backup or the database "
                         "leaked): every token it issued, for every tenant, ends on the next "
                         "request.", cmd_token_rotate_key)
    rotate_key.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides = {k: getattr(args, k, None) for k in ("host", "port", "workers", "data_dir", "migrate")}
    try:
        settings = config.load(**overrides)
        return args.handler(args, settings)
    except SettingsError as exc:
        print(f"lrs: {exc}", file=sys.stderr)
        return 2
    except LRSError as exc:
        print(f"lrs: {exc.message}", file=sys.stderr)
        return 1
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"lrs: database error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
