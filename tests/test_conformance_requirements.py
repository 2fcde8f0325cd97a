"""conformance/ reports by requirement (conformance/requirements.py, report.py):
ids are read from test names, every test of the suite names known ones, and
the README's coverage table is the one the suite prints. No LRS needed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from conformance.requirements import REQUIREMENTS, cite, ids_of

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name,param_id,ids", [
    ("test_stpost_05_07_batch_all_or_nothing", "", ["STPOST-05", "STPOST-07"]),
    ("test_imm_05_06_stget_02_03_concurrent_voiding", "2.0.0", ["IMM-05", "IMM-06", "STGET-02", "STGET-03"]),
    # A group name later in the words ("about") is a word, not an id.
    ("test_gen_04_about_head", "", ["GEN-04"]),
    ("test_auth_04_401_for_a_bad_key", "", ["AUTH-04"]),
    ("test_sv_invalid_statement_rejected", "sv01_missing_actor-1.0.3", ["SV-01"]),
    ("test_v20_04_alternate_syntax_rejected", "", ["V20-04"]),
    ("test_voiding_via_put", "", []),
])
def test_ids_come_from_the_test_name_and_parameter_ids(name, param_id, ids):
    assert ids_of(name, param_id) == ids


def test_every_requirement_cites_a_section_of_a_spec_text():
    assert all(r.spec_1_0_3 or r.spec_2_0 for r in REQUIREMENTS.values())
    assert cite(REQUIREMENTS["STPUT-01"].spec_1_0_3) == "1.0.3 Part Three §2.1.1 PUT Statements"
    assert cite(REQUIREMENTS["STPUT-01"].spec_2_0) == "2.0 §4.1.6.1 Statement Resource (/statements)"


def test_a_test_that_names_no_requirement_stops_the_run(tmp_path):
    (tmp_path / "test_suite.py").write_text("def test_something():\n    pass\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conformance.report", "-p", "no:cacheprovider",
         str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 4, run.stdout + run.stderr
    assert "test_something: names no requirement id" in run.stderr


def test_the_summary_counts_must_and_should_failures_apart_and_lists_failed_tests_only(tmp_path):
    (tmp_path / "test_suite.py").write_text(
        "import pytest\n"
        "def test_err_07_skipped():\n    pytest.skip('no rate-limited credential')\n"
        "def test_err_05_passes():\n    pass\n"
        "def test_err_02_a_terse_message():\n    assert False\n"  # SHOULD
        "def test_err_04_a_half_stored_batch():\n    assert False\n"  # MUST
        "@pytest.mark.parametrize('version', ['1.0.3', '2.0.0'])\n"
        "def test_stget_28_no_last_modified(version):\n    assert False\n"  # 1.0.3 SHOULD*; 2.0 MUST
        "def test_stpost_04_imm_03_conflict_stored():\n    assert False\n")  # SHOULD and MUST
    junit = tmp_path / "report.xml"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conformance.report", "-p", "no:cacheprovider",
         str(tmp_path), f"--junitxml={junit}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    rows = {line.split()[0]: line for line in run.stdout.splitlines()
            if line.startswith(("statements ", "all resources "))}
    # resource, passed, failed MUST, failed SHOULD, skipped, then the ids by level.
    assert rows["all"].split()[2:6] == ["1", "1", "1", "1"], run.stdout
    assert rows["all"].endswith("MUST: ERR-04; SHOULD: ERR-02"), rows["all"]  # not ERR-07
    assert rows["statements"].split()[1:5] == ["0", "2", "1", "0"], run.stdout
    assert rows["statements"].endswith("MUST: STGET-28 IMM-03; SHOULD: STPOST-04 STGET-28"), \
        rows["statements"]
    assert junit.read_text().count('<property name="level" value="SHOULD"') == 2


def test_a_failure_that_cites_requirements_failed_those_only(tmp_path):
    """A test checking a MUST (IMM-03: nothing changed) and a SHOULD (STPOST-04:
    409) that fails on the 409 missed the SHOULD; one that fails on a rule it
    relies on (STGET-01) failed that one; one failing on anything else failed
    all it names."""
    (tmp_path / "test_suite.py").write_text(
        "def test_stpost_04_imm_03_no_409():\n"
        "    assert False, 'STPOST-04: POST /statements -> 200, expected (409,)'\n"
        "def test_stpost_03_04_stpost_07_batch_half_stored():\n"
        "    assert False, 'STPOST-07, STPOST-04: 3 statements of a refused batch stored'\n"
        "def test_stpost_03_04_changed():\n"
        "    assert False, 'the stored statement changed'\n"
        "def test_stpost_04_reread():\n"  # a SHOULD test stumbling on a MUST it relies on
        "    assert False, 'STGET-01: GET ?statementId=... must return the Statement itself'\n"
        "import pytest\n"
        "@pytest.fixture\n"
        "def broken_teardown():\n"
        "    yield\n"
        "    raise RuntimeError('teardown went wrong')\n"
        "def test_stpost_04_imm_03_and_teardown(broken_teardown, record_property):\n"
        "    record_property('mine', 'kept')\n"
        "    assert False, 'STPOST-04: POST /statements -> 200, expected (409,)'\n")
    junit = tmp_path / "report.xml"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conformance.report", "-p", "no:cacheprovider",
         str(tmp_path), f"--junitxml={junit}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    row = next(line for line in run.stdout.splitlines() if line.startswith("statements "))
    assert row.split()[1:5] == ["0", "4", "1", "0"], run.stdout
    assert row.endswith("MUST: STPOST-03 STPOST-07 STGET-01 IMM-03; SHOULD: STPOST-04"), row
    props = {case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
             for case in ElementTree.parse(junit).iter("testcase")}
    assert props["test_stpost_04_imm_03_no_409"]["level"] == "SHOULD"
    assert props["test_stpost_04_imm_03_no_409"]["requirements_failed"] == "STPOST-04"
    assert props["test_stpost_03_04_stpost_07_batch_half_stored"]["requirements_failed"] == \
        "STPOST-04 STPOST-07"
    assert props["test_stpost_03_04_changed"]["level"] == "MUST"
    assert props["test_stpost_03_04_changed"]["requirements_failed"] == "STPOST-03 STPOST-04"
    assert props["test_stpost_04_reread"]["level"] == "MUST"
    assert props["test_stpost_04_reread"]["requirements_failed"] == "STGET-01"
    # The teardown's uncited error is not the call's SHOULD: both ids failed.
    assert props["test_stpost_04_imm_03_and_teardown"]["requirements_failed"] == "STPOST-04 IMM-03"
    assert props["test_stpost_04_imm_03_and_teardown"]["level"] == "MUST"
    assert props["test_stpost_04_imm_03_and_teardown"]["mine"] == "kept"


def test_every_test_names_known_requirements_and_the_readme_table_is_current():
    run = subprocess.run([sys.executable, "-m", "conformance", "--requirements"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    readme = (ROOT / "conformance" / "README.md").read_text()
    table = re.search(r"<!-- requirements table[^\n]*-->\n(.*?)\n<!-- end of requirements table -->",
                      readme, re.DOTALL)
    assert table, "conformance/README.md has lost its requirements table markers"
    assert table.group(1).strip() == run.stdout.strip(), \
        "conformance/README.md: paste the output of `python -m conformance --requirements`"


def test_refused_credentials_stop_the_run_before_any_test(server, tenant):
    """Found by a review of the suite as a product: with a wrong secret
    every test failed on a 401, and the summary blamed the LRS's rules."""
    run = subprocess.run(
        [sys.executable, "-m", "conformance", "--url", f"{server.url}/xapi/",
         f"--key={tenant.key}", "--secret=not-the-secret", "-k", "about"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 4, run.stdout + run.stderr
    assert "answered 401" in run.stdout + run.stderr and "Nothing was tested" in \
        run.stdout + run.stderr


@pytest.mark.parametrize("versions", ["", "2.0", "1.0.3,2.1.0"])
def test_versions_the_suite_does_not_know_stop_the_run(versions):
    """Found running the suite against another LRS: LRS_VERSIONS= (none) was an
    INTERNALERROR; "2.0" ran tests that compare the version with "2.0.0"."""
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-k", "about"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "LRS_URL": "http://127.0.0.1:9/xapi/", "LRS_KEY": "k",
             "LRS_SECRET": "s", "LRS_VERSIONS": versions})
    assert run.returncode == 4, run.stdout + run.stderr
    assert "LRS_VERSIONS (--versions) must list 1.0.3 or 2.0.0" in run.stdout + run.stderr
