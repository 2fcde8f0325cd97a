"""Conformance reporting, as a pytest plugin (registered by conftest.py).

- Each test is tagged with the requirement ids its name carries, its resource
  and the spec sections it checks; pytest's JUnit XML (`--junitxml`) writes
  them as testcase properties. A test that names no known id stops the run at
  collection: every test must say which requirement it checks.
- Each test has a level: MUST when a requirement it names is a MUST (or MUST
  NOT) in the version it runs in, else SHOULD (SHOULD, SHOULD*, MAY, notes):
  a failed MUST test may be non-conformance, a failed SHOULD test is a missed
  recommendation. JUnit carries it as the testcase property `level`.
- A failure whose message starts by citing requirement ids ("STPOST-04: ...")
  failed those only: a test that checks a MUST and a SHOULD reports a missed
  SHOULD as such, and a test that stumbled on a rule it relies on (a GET by
  id answered with a list: "STGET-01: ...") blames that rule, not its own.
  Other failures fail every id the test names.
- At the end of a run, one line per resource: passed / failed (MUST, SHOULD)
  / skipped, and the ids the failed tests name, each under its own level.
  Skipped tests list nothing.
- `coverage_table` lists, per id group, which checklist ids the suite's tests
  name and which none does (`python -m conformance --requirements`)."""

from __future__ import annotations

import contextlib
import io
import re
from collections import Counter, defaultdict

import pytest

from conformance.requirements import REQUIREMENTS, RESOURCES, cite, ids_of


def item_ids(item: pytest.Item) -> list[str]:
    callspec = getattr(item, "callspec", None)
    return ids_of(getattr(item, "originalname", item.name), callspec.id if callspec else "")


def _version(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("version") if callspec else None


def _properties(ids: list[str], version: str | None,
                failed: list[str] | None = None) -> list[tuple[str, str]]:
    """The testcase properties; `failed`: the ids a failure cites, if it cites some."""
    reqs = [REQUIREMENTS[i] for i in ids]
    v1 = tuple(dict.fromkeys(ref for r in reqs for ref in r.spec_1_0_3))
    v2 = tuple(dict.fromkeys(ref for r in reqs for ref in r.spec_2_0))
    musts = [i for i in failed or ids if REQUIREMENTS[i].must(version)]
    return [("requirements", " ".join(ids)), ("resource", reqs[0].resource),
            ("level", "MUST" if musts else "SHOULD"), ("requirements_must", " ".join(musts)),
            ("requirements_failed", " ".join(failed or ids)),
            ("spec_1.0.3", cite(v1) or "-"), ("spec_2.0", cite(v2) or "-")]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmapped = []
    for item in items:
        ids = item_ids(item)
        unknown = [i for i in ids if i not in REQUIREMENTS]
        if not ids or unknown:
            unmapped.append(f"  {item.nodeid}: " + (f"unknown {unknown}" if unknown else "names no requirement id"))
            continue
        item.user_properties.extend(_properties(ids, _version(item)))
    if unmapped:
        raise pytest.UsageError(
            "every conformance test must start its name with the requirement ids it checks "
            "(see conformance/requirements.py):\n" + "\n".join(unmapped))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Each failing phase sets the level and the failed ids: those its message
    cites, else all the test names (a teardown error after a cited failure is
    not that failure). JUnit writes the teardown report's properties, the
    summary the failing phase's: both are set. Properties a test recorded
    itself (record_property) are kept."""
    report = (yield).get_result()
    if report.failed and call.excinfo is not None:
        props = _properties(item_ids(item), _version(item), cited_ids(str(call.excinfo.value)))
        ours = {name for name, _ in props}
        item.user_properties[:] = props + [p for p in item.user_properties if p[0] not in ours]
        report.user_properties = list(item.user_properties)


_ID_LIST = re.compile(r"[A-Z]+-\d\d(?:/\d\d)*(?:, ?[A-Z]+-\d\d(?:/\d\d)*)*")


def cited_ids(message: str) -> list[str]:
    """The known requirement ids a message's first line cites before a colon:
    "STPOST-04: ...", "STGET-32, STGET-35: ..." or "ATT-04/05: ..."."""
    head, colon, _ = message.split("\n", 1)[0].partition(":")
    if not colon or not _ID_LIST.fullmatch(head.strip()):
        return []
    cited = []
    for group, numbers in re.findall(r"([A-Z]+)-([\d/]+)", head):
        cited.extend(f"{group}-{n}" for n in numbers.split("/"))
    return sorted((i for i in set(cited) if i in REQUIREMENTS), key=_order)


_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 2}


def pytest_terminal_summary(terminalreporter) -> None:
    outcome: dict[str, tuple[str, dict[str, str]]] = {}
    for key, rank in _RANK.items():
        for report in terminalreporter.stats.get(key, []):
            props = dict(getattr(report, "user_properties", ()))
            if "resource" not in props:
                continue
            # A test that passed its call but failed its teardown failed; of two
            # failing phases the later one's properties are the test's (as in JUnit).
            if report.nodeid not in outcome or _RANK[outcome[report.nodeid][0]] <= rank:
                outcome[report.nodeid] = (key, props)
    if not outcome:
        return
    counts: dict[str, Counter] = defaultdict(Counter)
    failed_ids: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for key, props in outcome.values():
        resource = props["resource"]
        if key in ("failed", "error"):
            counts[resource][props["level"]] += 1
            musts = set(props["requirements_must"].split())
            for rid in props["requirements_failed"].split():
                failed_ids[resource]["MUST" if rid in musts else "SHOULD"].add(rid)
        else:
            counts[resource][key] += 1
    tr = terminalreporter
    tr.write_sep("=", "xAPI conformance by resource")
    tr.write_line(f"{'resource':<20}{'passed':>8}{'failed MUST':>13}{'SHOULD':>8}{'skipped':>9}"
                  "  requirements failed")
    for resource in dict.fromkeys(RESOURCES.values()):
        if resource in counts:
            c = counts[resource]
            tr.write_line(f"{resource:<20}{c['passed']:>8}{c['MUST']:>13}{c['SHOULD']:>8}"
                          f"{c['skipped']:>9}  {_listed(failed_ids[resource])}")


def _listed(by_level: dict[str, set[str]]) -> str:
    """{"MUST": {"SV-01"}, "SHOULD": {"ERR-02"}} -> "MUST: SV-01; SHOULD: ERR-02"."""
    return "; ".join(f"{level}: " + " ".join(sorted(ids, key=_order))
                     for level, ids in sorted(by_level.items(), key=lambda kv: kv[0] != "MUST")
                     if ids) or "-"


def _order(rid: str) -> int:
    return list(REQUIREMENTS).index(rid)


def coverage_table(covered: set[str]) -> str:
    """Markdown: per id group, the checklist ids some test names, and the others
    (those with a MUST in either version apart from the rest)."""
    lines = ["| Group | Resource | Covered | Not covered: MUST | Not covered: other levels |",
             "|---|---|---|---|---|"]
    groups: dict[str, list[list[str]]] = {}
    for rid, req in REQUIREMENTS.items():
        group, number = rid.split("-")
        column = 0 if rid in covered else 1 if "MUST" in req.level else 2
        groups.setdefault(group, [[], [], []])[column].append(number)
    for group, columns in groups.items():
        lines.append(f"| {group} | {RESOURCES[group]} | " + " | ".join(map(_ranges, columns)) + " |")
    return "\n".join(lines)


def _ranges(numbers: list[str]) -> str:
    """["01", "02", "03", "05"] -> "01–03, 05"."""
    runs: list[list[str]] = []
    for n in numbers:
        if runs and int(n) == int(runs[-1][-1]) + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs) or "—"


def covered_ids(suite: str) -> set[str]:
    """The ids the suite's tests name, by collecting it (no LRS contacted)."""
    ids: set[str] = set()

    class Collect:
        @staticmethod
        def pytest_collection_finish(session: pytest.Session) -> None:
            for item in session.items:
                ids.update(item_ids(item))

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = pytest.main([suite, "--collect-only", "-q", "-p", "no:cacheprovider"], plugins=[Collect()])
    if code != 0:
        raise RuntimeError(f"collecting {suite} failed ({code}):\n{out.getvalue()[-3000:]}")
    return ids
