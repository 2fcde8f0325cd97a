"""Our black-box conformance suite (conformance/), run against the live
server of this test run with two tenants, as an ordinary test: a failure
there fails CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_conformance_suite_passes_against_this_lrs(server, tenant, new_tenant):
    other = new_tenant()
    env = {**os.environ,
           "LRS_URL": f"{server.url}/xapi/",
           "LRS_KEY": tenant.key, "LRS_SECRET": tenant.secret,
           "LRS_KEY_B": other.key, "LRS_SECRET_B": other.secret}
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider",
         "-x", "--no-header"],
        cwd=root, env=env, capture_output=True, text=True, timeout=600)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    # Both tenants and both versions are given, so nothing may be skipped.
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary, summary
