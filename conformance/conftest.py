"""Shared fixtures for the black-box xAPI LRS conformance suite.

Configuration comes from the environment (see README.md):
  LRS_URL, LRS_KEY, LRS_SECRET            the LRS and tenant A's credentials (required)
  LRS_KEY_B, LRS_SECRET_B                 a second, isolated tenant (optional)
  LRS_KEY_READONLY, LRS_SECRET_READONLY   a credential that may only read statements (optional)
  LRS_KEY_LIMITED, LRS_SECRET_LIMITED     a rate-limited credential (optional)
  LRS_VERSIONS                            versions to exercise (default "1.0.3,2.0.0")
  LRS_CONSISTENCY_WAIT                    seconds to wait for writes to become readable
  LRS_CONF_SCALE                          scale of the high-throughput tests (default 1.0)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from conformance import report
from conformance.lib import VERSIONS, XAPI, Config, Factory, config_from_env, new_id

_CFG = config_from_env()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "throughput: high-throughput / concurrency tests")
    config.addinivalue_line("markers", "tenant_b: needs the second tenant (LRS_KEY_B)")
    config.addinivalue_line("markers", "faults: kills the LRS or stops its database by the "
                            "LRS_CONF_LRS_*/LRS_CONF_DB_* commands (test_faults.py)")
    config.addinivalue_line(
        "markers", "versions(*v): a rule of these xAPI versions only; the test is not "
        "collected for the others (deselected, not skipped)")
    config.addinivalue_line(
        "markers", "basic_auth: a rule of HTTP Basic; not collected when tenant A's credential "
        "is a Bearer token (LRS_TOKEN)")
    # Requirement ids and spec sections per test; the per-resource summary.
    config.pluginmanager.register(report, "conformance-report")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop at once, saying what to check, when the URL reaches no LRS: a
    wrong host, port or path prefix would otherwise fail every test, with no
    hint in any of the failures."""
    if _CFG is None or session.config.option.collectonly:
        return
    problem = _unknown_versions(_CFG) or _preflight(_CFG)
    if problem:
        pytest.exit(f"{problem}. Nothing was tested.", returncode=4)


def _unknown_versions(cfg: Config) -> str | None:
    wrong = [v for v in cfg.versions if v not in VERSIONS]
    if cfg.versions and not wrong:
        return None
    return (f"LRS_VERSIONS (--versions) must list {' or '.join(VERSIONS)} or both, comma-separated; "
            f"got {','.join(cfg.versions) or 'none'}")


def _preflight(cfg: Config) -> str | None:
    """What is wrong with the URL or tenant A's credentials, or None: no
    connection, 404 to both GET statements (with credentials and the version
    header) and GET about, or 401/403 to the first. An LRS that serves
    statements but has no /about is not stopped."""
    try:
        with XAPI(cfg, cfg.versions[0]) as c:
            status = c.get("statements", params={"limit": 1}).status_code
            if status in (401, 403):
                # Else every test fails on it, each blaming a rule of the LRS.
                return (f"GET {cfg.url}statements with tenant A's credentials (LRS_KEY and "
                        f"LRS_SECRET, or LRS_TOKEN) answered {status}: check them; the suite "
                        f"needs a credential that may read and write statements and documents")
            if status != 404:
                return None
            if c.get("about").status_code != 404:
                return None
    except httpx.TransportError as e:
        return (f"LRS_URL (--url) {cfg.url}: no answer ({type(e).__name__}: {e}); check the "
                f"scheme, host and port, and that the LRS is running")
    return (f"LRS_URL (--url) {cfg.url}: 404 to both GET {cfg.url}statements and GET "
            f"{cfg.url}about; check the URL's path: it must be the xAPI base that the "
            f"resources are under (e.g. http://host:8080/xapi/ for http://host:8080/xapi/statements)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A rule that exists in one version only is not a test of the other; a rule of
    # HTTP Basic is not a test of a Bearer token.
    kept, dropped = [], []
    bearer = bool(_CFG and _CFG.token)
    for item in items:
        marker = item.get_closest_marker("versions")
        callspec = getattr(item, "callspec", None)
        version = callspec.params.get("version") if callspec else None
        other_version = marker and version and version not in marker.args
        other_auth = bearer and item.get_closest_marker("basic_auth")
        (dropped if other_version or other_auth else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    # The 10,000 malformed requests last: an LRS that stores some of them can
    # fail the tests after them for that alone (a foreign LRS's registration
    # queries answered 500 once they were in), hiding what those would show.
    items.sort(key=lambda item: item.path.name == "test_malformed.py")  # stable
    # A default per-test timeout so no test can hang the run (pytest-timeout).
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(60))


def _versions() -> tuple[str, ...]:
    return _CFG.versions if _CFG else ("1.0.3", "2.0.0")


@pytest.fixture(scope="session")
def cfg() -> Config:
    if _CFG is None:
        pytest.exit("LRS_URL is not set: run with LRS_URL=http://host/xapi/ LRS_KEY=.. LRS_SECRET=.. "
                    "or python -m conformance --url URL --key K --secret S", returncode=4)
    return _CFG


@pytest.fixture(scope="session")
def run_id() -> str:
    """Unique per suite run: keeps data apart from earlier runs on the same LRS."""
    return uuid.uuid4().hex[:16]


@pytest.fixture(scope="session")
def factory(run_id: str) -> Factory:
    return Factory(run_id)


@pytest.fixture
def f(run_id: str) -> Factory:
    """A factory unique to this test (and to this version of it): named activities and
    agents (`f.activity_id("target")`) never collide with another test's."""
    return Factory(f"{run_id}-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def registration() -> str:
    """A fresh registration: scopes a test's statements so counts see only its own data."""
    return new_id()


@pytest.fixture(params=_versions())
def version(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def lrs(cfg: Config, version: str):
    """Tenant A, speaking `version` (parametrized over 1.0.3 and 2.0.0)."""
    client = XAPI(cfg, version)
    yield client
    client.close()


def _optional_client(cfg: Config, version: str, which: str, needs: str) -> Iterator[XAPI]:
    """A client with an optional credential; skips, saying what for, when it is unset."""
    authorization = cfg.authorization(which)
    if not authorization:
        pytest.skip(needs)
    client = XAPI(cfg, version, authorization=authorization)
    yield client
    client.close()


@pytest.fixture
def lrs_b(cfg: Config, version: str):
    """Tenant B (isolated). Skips when neither LRS_KEY_B nor LRS_TOKEN_B is set."""
    yield from _optional_client(cfg, version, "b",
                                "LRS_KEY_B/LRS_SECRET_B (or LRS_TOKEN_B) not set: "
                                "tenant-isolation tests need a second tenant")


@pytest.fixture
def lrs_readonly(cfg: Config, version: str):
    """A credential that may read statements and do nothing else. Skips
    when neither LRS_KEY_READONLY nor LRS_TOKEN_READONLY is set."""
    yield from _optional_client(cfg, version, "readonly",
                                "LRS_KEY_READONLY/LRS_SECRET_READONLY (or LRS_TOKEN_READONLY) "
                                "not set: the 403 tests need a credential that may only read "
                                "statements")


@pytest.fixture
def lrs_limited(cfg: Config, version: str):
    """A rate-limited credential. Skips when neither LRS_KEY_LIMITED nor
    LRS_TOKEN_LIMITED is set."""
    yield from _optional_client(cfg, version, "limited",
                                "LRS_KEY_LIMITED/LRS_SECRET_LIMITED (or LRS_TOKEN_LIMITED) not "
                                "set: the 429 test needs a credential with a request rate limit")


@pytest.fixture
def anon(cfg: Config, version: str):
    """No Authorization header at all."""
    client = XAPI(cfg, version, auth=False)
    yield client
    client.close()


@pytest.fixture
def client_factory(cfg: Config, version: str):
    """Make extra independent clients (own connection pools) for concurrency tests."""
    made: list[XAPI] = []

    def make(**kw) -> XAPI:
        c = XAPI(cfg, version, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
