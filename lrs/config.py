"""Settings: every `LRS_*` variable declared once, as data.

The table below drives parsing, validation, the CLI's defaults and the README
table (`python -m lrs.config` prints it as Markdown). Settings are read once,
when the app or a command starts, never at import time; a bad value fails with
a message that names the variable."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit


class SettingsError(ValueError):
    """A `LRS_*` variable has a value we cannot use."""


def _default_data_dir() -> str:
    # The XDG base-directory rule, as platformdirs would answer on Linux,
    # without adding a dependency for one path.
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "lrs")


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("expected an integer of at least 1")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("expected an integer of at least 0")
    return value


def _wal_megabytes(raw: str) -> int:
    megabytes = _non_negative_int(raw)
    # PostgreSQL's own floor for min_wal_size: two 16 MB segments.
    if 0 < megabytes < 32:
        raise ValueError("must be 0 (off) or at least 32")
    return megabytes


def _positive_float(raw: str) -> float:
    value = float(raw)
    # inf (and 1e400, which float() reads as inf) would switch the bound off.
    if not (value > 0 and math.isfinite(value)):
        raise ValueError("expected a finite number above 0")
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError("expected a port number from 0 to 65535")
    return value


def _database_url(raw: str) -> str | None:
    if not raw:
        return None
    if not raw.startswith(("postgres://", "postgresql://")):
        raise ValueError("expected a postgresql:// URL")
    # Checked here, or the driver fails on it later with a traceback. Host by
    # host: asyncpg and libpq take several (h1:5432,h2:5433), urlsplit one.
    try:
        for host in urlsplit(raw).netloc.rpartition("@")[2].split(","):
            urlsplit(f"//{host}").port  # raises ValueError if unreadable
    except ValueError:
        # Not urllib's message: it may quote the URL.
        raise ValueError("a host or port cannot be read") from None
    return raw


def _log_level(raw: str) -> str:
    level = raw.strip().lower()
    if level not in ("debug", "info", "warning", "error"):
        raise ValueError("expected debug, info, warning or error")
    return level


def _origins(raw: str) -> tuple[str, ...]:
    # Lower case, as browsers send an Origin: its scheme and host are case-insensitive.
    origins = tuple(o.strip().rstrip("/").lower() for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ValueError(f"{origin!r} is not an origin like https://host[:port]")
    return origins


# Tokens the LRS issues live at most a year: those `lrs token issue` mints
# belong to no credential, and only a key rotation ends them.
MAX_TOKEN_TTL = 366 * 24 * 3600


def _token_ttl(raw: str) -> int:
    value = _positive_int(raw)
    if value > MAX_TOKEN_TTL:
        raise ValueError(f"expected at most {MAX_TOKEN_TTL} seconds (366 days)")
    return value


# HS256 signs with HMAC-SHA256: a key shorter than the hash's 32 bytes is
# weaker than the hash, and a short or word-like one falls to guessing
# offline from any token the LRS issued (a four-letter one in milliseconds),
# after which anyone can mint an admin token. Hence a floor, in bytes.
MIN_SIGNING_SECRET_BYTES = 32


def _signing_secret(raw: str) -> str | None:
    if not raw:
        return None
    if len(raw.encode()) < MIN_SIGNING_SECRET_BYTES:
        raise ValueError(f"must be at least {MIN_SIGNING_SECRET_BYTES} bytes of randomness, e.g. "
                         "the output of: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return raw


def http_url(value: str) -> SplitResult | None:
    """`value` split, when it is an http(s) URL with a host (and a port, if
    it has one, that is a port), in printable ASCII without spaces."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        return None
    if (parts.scheme in ("https", "http") and parts.hostname
            and value.isascii() and value.isprintable() and " " not in value):
        return parts
    return None


def _public_url(raw: str) -> str | None:
    # The homePage of every authority the LRS writes: an IRL (1.0.3 Data
    # 2.4.2.2), which the LRS itself would refuse in a statement otherwise.
    if not raw:
        return None
    if http_url(raw) is None:
        raise ValueError("expected an absolute http:// or https:// URL")
    return raw


# A request's line and headers: below this not even a Bearer token fits.
MIN_HEADER_BYTES = 1024


def _header_bytes(raw: str) -> int:
    value = _positive_int(raw)
    if value < MIN_HEADER_BYTES:
        raise ValueError(f"expected at least {MIN_HEADER_BYTES}")
    return value


def _text(raw: str) -> str:
    return raw


def _optional_text(raw: str) -> str | None:
    return raw or None


@dataclasses.dataclass(frozen=True)
class Setting:
    name: str  # the attribute on Settings; the variable is LRS_<NAME>
    parse: Callable[[str], Any]
    default: str
    help: str
    type_name: str
    # False for a value whose error must not repeat it (a URL's password).
    echo: bool = True

    @property
    def env(self) -> str:
        return "LRS_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("database_url", _database_url, "", "PostgreSQL (13+) to use. Unset: start the embedded PostgreSQL in the data directory.", "URL", echo=False),
    Setting("data_dir", _text, "", "Folder of the embedded PostgreSQL's data. Default: $XDG_DATA_HOME/lrs or ~/.local/share/lrs.", "path"),
    Setting("embedded_wal_mb", _wal_megabytes, "512", "Megabytes of WAL segments the embedded PostgreSQL keeps made in advance (its min_wal_size; its max_wal_size is raised to twice as much where lower), made once when they are missing, before the LRS serves (about 4 s a GB). Without them, on a new data folder, every commit waits while PostgreSQL creates a segment, each 16 MB of writes (50-90 ms here, see docs/operations.md). 0: no pool (the settings of an earlier one are taken back, and PostgreSQL removes its spare segments at its next checkpoints). Lowering it later shrinks the pool at PostgreSQL's next checkpoints.", "int"),
    Setting("host", _text, "127.0.0.1", "Address `lrs serve` listens on.", "str"),
    Setting("port", _port, "8080", "Port `lrs serve` listens on.", "int"),
    Setting("workers", _positive_int, "1", "Worker processes of `lrs serve`.", "int"),
    Setting("public_url", _public_url, "", "The LRS's public base URL, used as the homePage of authorities. Default: http://HOST:PORT.", "URL"),
    Setting("migrate", _bool, "true", "Apply pending migrations when `lrs serve` or an "
            "admin command (tenant, credential, token) starts.", "bool"),
    Setting("pool_min", _positive_int, "2", "Database connections each worker keeps open.", "int"),
    Setting("pool_max", _positive_int, "10", "Most database connections per worker.", "int"),
    # Two bounds, not one: a healthy PostgreSQL connects in milliseconds, so
    # past a few seconds it is down or the pool is saturated and the caller
    # is better served by a 503 at once; but one command may legitimately run
    # for seconds (a 2,000-statement batch's group commit, a page over a large, cold
    # table, a wait for another node's write lock), which a 5 s bound would
    # turn into failures. The command bound is for a database that stops
    # answering without closing the connection (a partition, a failover).
    Setting("db_timeout", _positive_float, "5", "Seconds to connect to PostgreSQL or to wait for a pooled connection; past it the request is answered 503.", "float"),
    Setting("db_command_timeout", _positive_float, "30", "Seconds one SQL command may run; past it the request is answered 503 (a database that stopped answering without closing the connection).", "float"),
    Setting("db_statement_cache", _non_negative_int, "100", "Statements each database connection keeps prepared (asyncpg's cache). 0: none, for a pooler in transaction mode that cannot carry prepared statements (PgBouncer before 1.21, or without max_prepared_statements); every query is then planned anew.", "int"),
    Setting("access_cache_seconds", _non_negative_int, "300", "Seconds a process may reuse a credential look-up; every change to credentials, tenants or issuers empties the cache at once (LISTEN/NOTIFY on a connection of its own). 0: no cache (needed behind a pooler in transaction mode, where LISTEN does not work).", "int"),
    Setting("jwt_secret", _signing_secret, "", "Key that signs the tokens the LRS issues (HS256) and seals and signs its `more` cursors: at least 32 bytes of randomness. Default: a random key generated once and kept in the database, so every node shares it.", "str", echo=False),
    Setting("metrics_token", _optional_text, "", "A Bearer token GET /metrics then requires (Prometheus: `authorization: {credentials: ...}` in the scrape config). Unset, /metrics answers anyone who reaches the port, and its labels name every tenant with its volumes: set it wherever agencies, or anyone else, can reach the port.", "str"),
    Setting("jwt_audience", _text, "lrs", "The `aud` claim tokens must carry.", "str"),
    Setting("jwt_issuer", _text, "lrs", "The `iss` claim of tokens the LRS issues.", "str"),
    Setting("jwks_refresh_seconds", _positive_int, "300", "Seconds an agency identity provider's key set (JWKS) is used before it is fetched again; a token checked against it counts as checked for as long.", "int"),
    Setting("jwks_max_stale_seconds", _non_negative_int, "3600", "Seconds an agency identity provider's key set, once fetched, stays in use while the provider cannot be reached. At most LRS_JWKS_REFRESH_SECONDS (e.g. 0): its tokens are refused as soon as a due fetch fails.", "int"),
    Setting("jwt_leeway", _non_negative_int, "30", "Seconds of clock skew allowed on `exp`/`nbf`.", "int"),
    Setting("token_ttl", _token_ttl, "3600", "Lifetime in seconds of tokens the LRS issues (at most 366 days).", "int"),
    Setting("max_body_bytes", _positive_int, "52428800", "Largest request body accepted (413 past it).", "int"),
    Setting("max_statements_per_request", _positive_int, "2000", "Most statements in one POST (413 past it).", "int"),
    Setting("max_document_bytes", _positive_int, "10485760", "Largest State/Profile document accepted (413 past it).", "int"),
    # uvicorn bounds only the wait between requests on a kept-alive
    # connection: these bound the rest before a request reaches the LRS
    # (lrs.http.connections).
    Setting("header_timeout_seconds", _positive_float, "20", "Seconds a request's headers may take to arrive, from its first byte or the connection's opening; past it a connection that sent nothing is closed, and one that sent part of a request is answered 408 and closed.", "float"),
    Setting("keep_alive_seconds", _positive_float, "5", "Seconds a kept-alive connection may wait for its next request, counted from when the last response was handed to it (uvicorn's timeout_keep_alive); then it is closed once that response is sent. Behind a load balancer or proxy that reuses connections, set it above the balancer's idle timeout, or the balancer may send a request on a connection the LRS is closing (a 502).", "float"),
    Setting("max_header_bytes", _header_bytes, "65536", "Bytes a request's line and headers may take; past it the request is answered 431 and its connection closed (a worker would otherwise hold in memory whatever a client sends as headers, on every connection).", "int"),
    Setting("max_connections", _positive_int, "4096", "HTTP connections each worker keeps open at once. One more closes the oldest that has sent nothing yet, else one kept alive between requests; if all are busy it is answered 503 with Retry-After. `lrs serve` raises its open-file limit to fit, as far as the system's hard limit allows.", "int"),
    # A body that trickles in holds its bytes of the write backlog, and a
    # connection, for as long as it takes: so it gets a time to arrive that
    # grows with what has arrived (as Apache's mod_reqtimeout MinRate does),
    # long enough for a large upload over a slow link, not for ever.
    Setting("body_timeout_seconds", _positive_float, "20", "Seconds a request body may take to arrive, plus 1 s for every LRS_BODY_MIN_RATE bytes received; past it the request is answered 408, nothing of it is stored and its connection is closed. A response gets as long to be taken in, for what is left unsent when it is complete; past it its connection is dropped.", "float"),
    Setting("body_min_rate", _positive_int, "16384", "Bytes a second a large request body must arrive at, on average (see LRS_BODY_TIMEOUT_SECONDS).", "int"),
    Setting("write_backlog_bytes", _positive_int, "16777216", "Bytes of statement and document request bodies each worker takes on at once (read, checked, being written). Past it a request waits, body unread, and waiting tenants are let in by turns.", "int"),
    Setting("write_backlog_wait_seconds", _positive_float, "10", "Seconds a statement or document write waits for room in the write backlog before it is answered 429 with Retry-After.", "float"),
    # 1,000 (5,000 until 2026-11-29): beyond a few hundred statements a
    # commit's cost is spread thin, while a 5,000-statement call held the
    # loop for its columns and PostgreSQL for longer; under one agency's
    # flood the others' p99 halved, batches no slower (docs/benchmarks.md).
    Setting("group_commit_max", _positive_int, "1000", "Most statements one group-commit transaction writes (a larger batch is written alone; 1: every request in its own transaction).", "int"),
    Setting("unconditional_profile_put", _bool, "false", "Accept a 1.0.x PUT that creates an Agent or Activity Profile document without If-Match or If-None-Match (TinCanPython and TinCan.NET send these). Default: 400, as xAPI 1.0.3 Communication 3.1 requires one of the headers and ADL's conformance suite checks.", "bool"),
    Setting("page_limit", _positive_int, "500", "Most statements in one page of GET /statements (and what limit=0 means).", "int"),
    Setting("page_bytes", _positive_int, "16777216", "Most bytes in one page of GET /statements: the statements as stored and, with attachments=true, their attachments (each once); and the statements as sent, which format=canonical can make larger. Past it the page ends early (one statement at least) and `more` leads on.", "int"),
    Setting("cors_origins", _origins, "", "Browser origins allowed for every tenant, comma-separated (`*`: any). Tenants add their own.", "list"),
    Setting("log_level", _log_level, "info", "Log level: debug, info, warning, error.", "str"),
    Setting("shutdown_timeout", _positive_float, "30", "Seconds to let in-flight requests finish after SIGTERM.", "float"),
)


@dataclasses.dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    data_dir: str = ""
    embedded_wal_mb: int = 512
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    public_url: str | None = None
    migrate: bool = True
    pool_min: int = 2
    pool_max: int = 10
    db_timeout: float = 5.0
    db_command_timeout: float = 30.0
    db_statement_cache: int = 100
    access_cache_seconds: int = 300
    jwt_secret: str | None = None
    metrics_token: str | None = None
    jwt_audience: str = "lrs"
    jwt_issuer: str = "lrs"
    jwks_refresh_seconds: int = 300
    jwks_max_stale_seconds: int = 3600
    jwt_leeway: int = 30
    token_ttl: int = 3600
    max_body_bytes: int = 52428800
    max_statements_per_request: int = 2000
    max_document_bytes: int = 10485760
    header_timeout_seconds: float = 20.0
    keep_alive_seconds: float = 5.0
    max_header_bytes: int = 65536
    max_connections: int = 4096
    body_timeout_seconds: float = 20.0
    body_min_rate: int = 16384
    write_backlog_bytes: int = 16777216
    write_backlog_wait_seconds: float = 10.0
    group_commit_max: int = 1000
    unconditional_profile_put: bool = False
    page_limit: int = 500
    page_bytes: int = 16777216
    cors_origins: tuple[str, ...] = ()
    log_level: str = "info"
    shutdown_timeout: float = 30.0

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def resolved_data_dir(self) -> Path:
        return Path(self.data_dir or _default_data_dir()).expanduser()

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def load(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read every `LRS_*` variable; `overrides` (from CLI options) win."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env, setting.default)
        try:
            values[setting.name] = setting.parse(raw.strip() if setting.type_name != "str" else raw)
        except ValueError as exc:
            shown = f"={raw!r}" if setting.echo else ""
            raise SettingsError(f"{setting.env}{shown} is invalid: {exc}") from None
    by_name = {s.name: s for s in SETTINGS}
    for name, value in overrides.items():
        if value is None:
            continue
        try:
            values[name] = by_name[name].parse(str(value).lower() if isinstance(value, bool) else str(value))
        except ValueError as exc:
            shown = f" {value!r}" if by_name[name].echo else ""
            raise SettingsError(f"--{name.replace('_', '-')}{shown} is invalid: {exc}") from None
    settings = Settings(**values)
    if settings.pool_min > settings.pool_max:
        raise SettingsError("LRS_POOL_MIN must not exceed LRS_POOL_MAX")
    return settings


def markdown_table() -> str:
    rows = ["| Variable | Type | Default | Meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "(unset)"
        rows.append(f"| `{s.env}` | {s.type_name} | {default} | {s.help} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
