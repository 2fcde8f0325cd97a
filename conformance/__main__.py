"""python -m conformance --url URL (--key K --secret S | --token T) [--key-b K2 ...] [pytest args]

Sets the LRS_* environment variables and runs pytest on this package, or on the
test paths and node ids among the pytest args.
`--junit PATH` adds a JUnit XML report; `--requirements` prints which checklist
requirements the tests cover, without contacting any LRS."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

_FAULT_COMMANDS = (
    ("--lrs-kill", "LRS_CONF_LRS_KILL", "SIGKILL the LRS; returns once it is gone"),
    ("--lrs-start", "LRS_CONF_LRS_START", "start the LRS again; may return at once"),
    ("--db-stop", "LRS_CONF_DB_STOP", "stop the LRS's database; returns once it is down"),
    ("--db-start", "LRS_CONF_DB_START", "start the database again; returns once it accepts connections"),
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m conformance",
                                description="Black-box xAPI LRS conformance suite (1.0.3 and 2.0.0).")
    p.add_argument("--url", default=os.environ.get("LRS_URL"),
                   help="xAPI base URL, e.g. http://127.0.0.1:8080/xapi/ (env LRS_URL)")
    p.add_argument("--key", default=os.environ.get("LRS_KEY"), help="tenant A key (env LRS_KEY)")
    p.add_argument("--secret", default=os.environ.get("LRS_SECRET"), help="tenant A secret (env LRS_SECRET)")
    p.add_argument("--key-b", default=os.environ.get("LRS_KEY_B"), help="tenant B key, optional (env LRS_KEY_B)")
    p.add_argument("--secret-b", default=os.environ.get("LRS_SECRET_B"),
                   help="tenant B secret, optional (env LRS_SECRET_B)")
    for option, env, what in (
            ("--key-readonly", "LRS_KEY_READONLY",
             "key of a tenant-A credential that may only read statements, optional"),
            ("--secret-readonly", "LRS_SECRET_READONLY", "its secret"),
            ("--key-limited", "LRS_KEY_LIMITED", "key of a rate-limited credential, optional"),
            ("--secret-limited", "LRS_SECRET_LIMITED", "its secret")):
        p.add_argument(option, dest=env, default=os.environ.get(env), help=f"{what} (env {env})")
    for option, env, what in (
            ("--token", "LRS_TOKEN", "tenant A's Bearer token, sent instead of key and secret"),
            ("--token-b", "LRS_TOKEN_B", "tenant B's Bearer token, optional"),
            ("--token-readonly", "LRS_TOKEN_READONLY",
             "a Bearer token that may only read statements, optional"),
            ("--token-limited", "LRS_TOKEN_LIMITED", "a rate-limited Bearer token, optional")):
        p.add_argument(option, dest=env, default=os.environ.get(env), help=f"{what} (env {env})")
    p.add_argument("--versions", default=os.environ.get("LRS_VERSIONS"),
                   help="comma-separated versions to test (default 1.0.3,2.0.0)")
    p.add_argument("--scale", default=os.environ.get("LRS_CONF_SCALE"),
                   help="scale factor of the high-throughput tests (default 1.0)")
    p.add_argument("--max-batch", default=os.environ.get("LRS_CONF_MAX_BATCH"),
                   help="most statements the LRS takes in one POST, 0 for no limit; unset, "
                        "the 413 test for it skips (env LRS_CONF_MAX_BATCH)")
    p.add_argument("--max-body", default=os.environ.get("LRS_CONF_MAX_BODY"),
                   help="largest request body the LRS takes, in bytes, 0 for no limit; "
                        "unset, the 413 test for it skips (env LRS_CONF_MAX_BODY)")
    p.add_argument("--malformed", default=os.environ.get("LRS_CONF_MALFORMED"),
                   help="how many malformed requests to send (default 10000; env LRS_CONF_MALFORMED)")
    p.add_argument("--junit", metavar="PATH",
                   help="write a JUnit XML report; each testcase carries its requirement ids and "
                        "spec sections as properties")
    p.add_argument("--requirements", action="store_true",
                   help="print which checklist requirements the tests cover, and exit (no LRS needed)")
    faults = p.add_argument_group(
        "fault scenarios (test_faults.py)",
        "shell commands that kill and start the LRS and stop and start its database; "
        "without them those tests skip")
    for option, env, what in _FAULT_COMMANDS:
        faults.add_argument(option, dest=env, metavar="CMD", default=os.environ.get(env),
                            help=f"{what} (env {env})")
    faults.add_argument("--outage-latency", metavar="SECONDS",
                        default=os.environ.get("LRS_CONF_OUTAGE_LATENCY"),
                        help="slowest answer allowed while the database is down (default 6)")
    args, pytest_args = p.parse_known_args(argv)
    if args.requirements:
        return _print_requirements()
    if not args.url:
        p.error("--url (or LRS_URL) is required")
    if (args.key is None or args.secret is None) and not args.LRS_TOKEN:
        p.error("--key and --secret (or LRS_KEY / LRS_SECRET), or --token (LRS_TOKEN), "
                "are required")
    if bool(args.key_b) != bool(args.secret_b):
        p.error("--key-b and --secret-b go together")
    for kind in ("READONLY", "LIMITED"):
        if bool(getattr(args, f"LRS_KEY_{kind}")) != bool(getattr(args, f"LRS_SECRET_{kind}")):
            p.error(f"--key-{kind.lower()} and --secret-{kind.lower()} go together")

    os.environ["LRS_URL"] = args.url
    for name, value in (("LRS_KEY", args.key), ("LRS_SECRET", args.secret),
                        ("LRS_KEY_B", args.key_b), ("LRS_SECRET_B", args.secret_b),
                        ("LRS_VERSIONS", args.versions), ("LRS_CONF_SCALE", args.scale),
                        ("LRS_CONF_MAX_BATCH", args.max_batch), ("LRS_CONF_MAX_BODY", args.max_body),
                        ("LRS_CONF_MALFORMED", args.malformed),
                        ("LRS_CONF_OUTAGE_LATENCY", args.outage_latency),
                        *((env, getattr(args, env)) for env in (
                            "LRS_KEY_READONLY", "LRS_SECRET_READONLY",
                            "LRS_KEY_LIMITED", "LRS_SECRET_LIMITED", "LRS_TOKEN", "LRS_TOKEN_B",
                            "LRS_TOKEN_READONLY", "LRS_TOKEN_LIMITED")),
                        *((env, getattr(args, env)) for _, env, _ in _FAULT_COMMANDS)):
        if value:
            os.environ[name] = value
        else:
            os.environ.pop(name, None)

    import pytest

    here = Path(__file__).resolve().parent
    # Make `import conformance` work from anywhere.
    sys.path.insert(0, str(here.parent))
    junit = ["--junitxml", args.junit] if args.junit else []
    return int(pytest.main([str(here), "-q", "-p", "no:cacheprovider", *junit, *pytest_args],
                           plugins=[_NamedTestsOnly(str(here))]))


class _NamedTestsOnly:
    """The package is always given, so that its conftest is loaded whatever
    pytest's rootdir and testpaths; when the arguments also name test paths or
    node ids (`conformance/test_isolation.py`, `...::test_x[1.0.3]`), only
    those run. pytest's own parsing tells them from option values."""

    def __init__(self, suite: str):
        self.suite = suite

    def pytest_configure(self, config) -> None:
        named = [a for a in config.args if a != self.suite]
        if named:
            config.args[:] = named


def _print_requirements() -> int:
    """The checklist ids the tests name, per group: the suite is collected, not run."""
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here.parent))
    os.environ.pop("LRS_VERSIONS", None)  # the tests of every version
    from conformance import report

    print(report.coverage_table(report.covered_ids(str(here))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
