"""How much of the xAPI spec does conformance/ check? Break this repository's
LRS one rule at a time and see which suites notice: ours, and ADL's official
one (the outside judge the issue names).

    python tools/mutants.py [--adl /path/to/lrs-conformance-test-suite]
                            [--only NAME,...] [--malformed 300]

Each mutant is one small text change to lrs/ that breaks one spec rule. For
each (and first for the unchanged code, which every suite must pass), a copy
of HEAD with the change is served by `lrs serve` on a loopback port, on one
embedded PostgreSQL kept for the whole run, and checked by:

- our suite: `python -m conformance` (spec tests; the throughput tests and
  the fault scenarios left out, fewer malformed requests), counting failures;
- ADL's suite, when --adl is given: `node bin/console_runner.js` for 1.0.3
  and for 2.0.0, counting failures.

A mutant one suite fails and the other passes is a gap in that other suite.
Prints a table; bounded (each run has a timeout). Needs git, and node for
ADL's suite."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from conformance.bench.ours import free_port, lrs_process

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class Mutant:
    name: str
    rule: str  # the requirement broken: checklist id and what it says
    file: str  # under lrs/
    old: str  # must occur exactly once
    new: str


MUTANTS = [
    Mutant("score-scaled-range", "RES: result.score.scaled in [-1, 1]",
           "xapi/validate_context.py", "not -1 <= scaled <= 1", "False"),
    Mutant("score-min-max", "RES: score.min < score.max",
           "xapi/validate_context.py", "not low < high", "False"),
    Mutant("score-raw-below-min", "RES: score.raw >= score.min",
           "xapi/validate_context.py", "if low is not None and raw < low:", "if False:"),
    Mutant("revision-non-activity", "CTX: revision/platform only with an Activity object",
           "xapi/validate_context.py", "if not object_is_activity:", "if False:"),
    Mutant("agent-two-ifis", "AGT: an Agent has exactly one IFI",
           "xapi/validate_actor.py", "if _count_ifis(obj, path) != 1:",
           "if _count_ifis(obj, path) < 1:"),
    Mutant("group-in-group", "GRP: a Group's members are Agents",
           "xapi/validate_actor.py", 'fail(f"{path}.objectType", "a Group member must be an '
           'Agent, not a Group")', "return check_group(obj, path)"),
    Mutant("mbox-not-mailto", "AGT: mbox is a mailto IRI",
           "xapi/formats_check.py",
           "return type(value) is str and _MAILTO.fullmatch(value) is not None",
           "return type(value) is str"),
    Mutant("sha1-any", "AGT: mbox_sha1sum is a hex SHA-1",
           "xapi/formats_check.py",
           "return type(value) is str and _SHA1_HEX.fullmatch(value) is not None",
           "return type(value) is str"),
    Mutant("account-no-homepage", "AGT: account.homePage is required",
           "xapi/validate_actor.py",
           'if "homePage" not in obj:\n        fail(f"{path}.homePage", "is required")\n'
           '    check_iri(obj["homePage"], f"{path}.homePage", "an IRL")',
           'pass'),
    Mutant("verb-id-not-iri", "VRB: verb.id is an IRI",
           "xapi/validate.py", 'check_iri(verb_id, f"{path}.id")', "pass"),
    Mutant("statement-no-actor", "STM: actor, verb and object are required",
           "xapi/validate.py", 'fail(f"{path}.{key}", "is required")  # 1.0.3 Data 2.2',
           "return"),
    Mutant("nested-substatement", "SUB: a SubStatement holds no SubStatement",
           "xapi/validate.py",
           'fail(f"{path}.objectType", "a SubStatement cannot contain a SubStatement")',
           "pass"),
    Mutant("substatement-with-id", "SUB: no id, stored, version or authority in a SubStatement",
           "xapi/validate.py",
           '            fail(f"{path}.{key}", "is not allowed in a SubStatement")\n'
           '    check_keys(obj, _SUBSTATEMENT_KEYS, path)',
           '            pass\n    check_keys({k: v for k, v in obj.items() '
           'if k not in _NOT_IN_SUBSTATEMENT}, _SUBSTATEMENT_KEYS, path)'),
    Mutant("void-non-ref", "VOID: a voiding statement's object is a StatementRef",
           "xapi/validate.py",
           'if target.get("objectType") != "StatementRef":', "if False:"),
    Mutant("object-type-case", "OBJ: objectType is case-sensitive",
           "xapi/validate.py",
           '    else:\n        fail(f"{path}.objectType",\n'
           '             "must be Activity, Agent, Group, StatementRef or SubStatement "',
           '    elif False:\n        fail(f"{path}.objectType",\n'
           '             "must be Activity, Agent, Group, StatementRef or SubStatement "'),
    Mutant("language-tag-any", "LANG: language map keys are RFC 5646 tags",
           "xapi/validate_common.py",
           'fail(key_path(path, tag), "key is not an RFC 5646 language tag")', "pass"),
    Mutant("extension-key-any", "EXT: extension keys are IRIs",
           "xapi/validate_common.py",
           'fail(key_path(path, key), "extension key must be an IRI")', "pass"),
    Mutant("unknown-property", "GEN: properties not in the spec are refused",
           "xapi/validate_common.py",
           'fail(f"{path}.{key}", "is not an allowed property here")', "pass"),
    Mutant("interaction-type-any", "ACT: interactionType is one of the spec's",
           "xapi/validate_activity.py", "    if allowed is None:\n",
           "    if allowed is None and type(kind) is str:\n        allowed = frozenset()\n"
           "    if allowed is None:\n"),
    Mutant("attachment-length-negative", "ATT: length is a non-negative integer",
           "xapi/validate.py", 'fail(f"{path}.length", "must not be negative")', "pass"),
    Mutant("duration-any", "RES: duration is an ISO 8601 duration",
           "xapi/formats_check.py", "    match = _DURATION.fullmatch(value)\n    if match is None:\n"
           "        return False", "    match = _DURATION.fullmatch(value)\n    if match is None:\n"
           "        return True"),
    Mutant("version-header-any", "VER: an unsupported X-Experience-API-Version is 400",
           "xapi/versions.py", "    if match is None:\n        raise BadRequest(",
           "    if match is None:\n        return V2\n        raise BadRequest("),
    Mutant("version-header-missing", "VER: every response carries X-Experience-API-Version",
           "http/middleware.py", "message[\"headers\"] = [*headers, (_VERSION_HEADER, answered)]",
           "message[\"headers\"] = headers"),
    Mutant("consistent-through-missing", "STGET-26: X-Experience-API-Consistent-Through",
           "http/consistency.py", "        response.headers[HEADER] = await _value(request)\n",
           "        pass\n"),
    Mutant("put-statement-200", "STPUT: a PUT of a statement answers 204",
           "http/statements.py", "    await _store(xreq, principal, version, statement_id)\n"
           "    return Response(status_code=204)",
           "    await _store(xreq, principal, version, statement_id)\n"
           "    return Response(status_code=200)"),
    Mutant("conflict-accepted", "STPOST: an id stored with other content is 409",
           "store/statement_insert.py", "elif not statements_equivalent(earlier, pending.statement):",
           "elif False:"),
    Mutant("signature-unchecked", "SIG: a malformed signature is 400",
           "xapi/signature.py", '            if isinstance(attachment, dict) and attachment.get("usageType") '
           '== SIGNATURE_USAGE:', "            if False:"),
    Mutant("single-with-filters", "STGET-04/05: statementId with other filters is 400",
           "xapi/statement_query.py", "    others = sorted(set(params) - SINGLE_PARAMS)\n    if others:",
           "    others = sorted(set(params) - SINGLE_PARAMS)\n    if False:"),
    Mutant("limit-ignored", "STGET-16: limit caps the page",
           "xapi/statement_query.py", "return page_limit if limit == 0 else min(limit, page_limit)",
           "return page_limit"),
    Mutant("format-ids-keeps-names", "STGET-19: format=ids keeps only what identifies",
           "xapi/formats.py", 'out = {k: actor[k] for k in ("objectType", *IFI_PROPERTIES) if k in actor}',
           "out = dict(actor)"),
    Mutant("order-always-descending", "STGET: ascending=true reverses the order",
           "store/statement_reader.py", 'order = "ASC" if f.ascending else "DESC"', 'order = "DESC"'),
    Mutant("since-inclusive", "STGET: since is exclusive",
           "store/statement_reader.py", '("since", ">", f.since)', '("since", ">=", f.since)'),
    Mutant("voided-listed", "VOID: voided statements are not listed",
           "store/statement_reader.py", '"NOT s.voided", *_seq_bounds(seq, f, after, p, cache)',
           "*_seq_bounds(seq, f, after, p, cache)"),
    Mutant("doc-if-match-ignored", "DOC: a failed If-Match is 412",
           "xapi/documents.py",
           "if pre.if_match is not None and not _if_match_holds(pre.if_match, etag):", "if False:"),
    Mutant("doc-if-none-match-ignored", "DOC: a failed If-None-Match is 412",
           "xapi/documents.py",
           "if pre.if_none_match is not None and not _if_none_match_holds(pre.if_none_match, etag):",
           "if False:"),
    Mutant("doc-put-overwrites", "DOC: a PUT over a document without preconditions is 409",
           "xapi/documents.py", 'if (method == "PUT" and not pre.given and current is not None',
           'if (False and method == "PUT" and not pre.given and current is not None'),
    Mutant("doc-post-replaces", "DOC: a POST merges JSON objects at the top level",
           "xapi/documents.py", "return jsonparse.dumps({**stored, **incoming})",
           "return jsonparse.dumps(incoming)"),
    Mutant("doc-merge-non-object", "DOC: merging a document that is not a JSON object is 400",
           "xapi/documents.py", '    if not isinstance(value, dict):\n        raise BadRequest(f"cannot '
           'merge: {what} is not a JSON object")', "    if not isinstance(value, dict):\n        return {}"),
    Mutant("related-agents-ignored", "STGET: related_agents=true matches any role",
           "store/statement_reader.py",
           'return "statement_agents", "agent_hash", f.agent, f.related_agents',
           'return "statement_agents", "agent_hash", f.agent, False'),
    Mutant("related-activities-ignored", "STGET: related_activities=true matches context",
           "store/statement_reader.py",
           'return "statement_activities", "activity_hash", f.activity, f.related_activities',
           'return "statement_activities", "activity_hash", f.activity, False'),
    Mutant("registration-filter-ignored", "STGET: the registration filter",
           "store/statement_reader.py", "    if f.registration is not None:\n        conditions",
           "    if False:\n        conditions"),
    Mutant("until-exclusive", "STGET: until is inclusive",
           "store/statement_reader.py", '("until", "<=", f.until)', '("until", "<", f.until)'),
    Mutant("statement-ref-rule-off", "STGET-30: a StatementRef's referrers match with it",
           "store/statement_reader.py", "    if not f.matches_content:", "    if True:"),
    Mutant("attachments-true-ignored", "STGET-24: attachments=true sends the data",
           "http/statement_reads.py",
           "parts = await _attachments(conn, principal, rows) if query.attachments else None",
           "parts = None"),
    Mutant("person-without-mbox", "AGT-PROFILE: the Person object lists every mbox",
           "xapi/persons.py", 'for prop in ("mbox", "mbox_sha1sum", "openid"):',
           'for prop in ("mbox_sha1sum", "openid"):'),
    Mutant("about-only-1.0.3", "ABOUT: the versions supported are listed",
           "http/about.py", "    return list(SUPPORTED)", "    return [V1]"),
    Mutant("document-without-etag", "DOC-03: a document GET carries an ETag",
           "http/documents.py", 'headers = {"ETag": rules.quoted(document.etag)}', "headers = {}"),
    # Attachments and multipart/mixed.
    Mutant("attachment-hash-unchecked", "ATT-02: a part is matched by the SHA-2 of its data",
           "xapi/attachments.py", "        if verify_hashes:\n            _check_digest(part, sha2)",
           "        if False:\n            _check_digest(part, sha2)"),
    Mutant("attachment-part-missing", "ATT-03: an attachment without fileUrl needs its part",
           "xapi/attachments.py", "            if has_file_url(attachment):\n                continue",
           "            if True:\n                continue"),
    Mutant("part-without-hash-dropped", "ATT-04: every part after the first has X-Experience-API-Hash",
           "xapi/multipart.py", "    for part in parts:\n        _check_attachment_part(part)",
           "    parts = [p for p in parts if p.sha2 is not None]\n    for part in parts:\n"
           "        _check_attachment_part(part)"),
    Mutant("part-encoding-any", "ATT-04/05: attachment parts are Content-Transfer-Encoding binary",
           "xapi/multipart.py", 'if encoding is not None and encoding != "binary":', "if False:"),
    Mutant("first-part-not-json", "ATT-01/04: the statement part is application/json",
           "xapi/multipart.py", "    if essence != JSON:\n        raise BadRequest(f\"the first",
           "    if False:\n        raise BadRequest(f\"the first"),
    # What the LRS fills in.
    Mutant("assigned-id-not-standard", "SP-01: an assigned id is a UUID in standard form",
           "xapi/prepare.py", 'ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")',
           "ids.append(h)"),
    Mutant("timestamp-not-assigned", "SP-04: a missing timestamp is set to stored",
           "store/statement_insert.py", '"assign_timestamp": p.assign_timestamp}',
           '"assign_timestamp": False}'),
    Mutant("version-not-assigned", "SP-07: a missing version is set (1.0.0 / 2.0.0)",
           "xapi/prepare.py", '    if "version" not in out:\n', "    if False:\n"),
    Mutant("authority-from-client", "AUTH-10/11: authority is set from the credentials",
           "xapi/prepare.py", '    out["authority"] = authority\n',
           '    out.setdefault("authority", authority)\n'),
    # StatementResult and formats.
    Mutant("more-never", "STGET-32: a page cut short carries a more IRL",
           "http/statement_reads.py", "    if more:\n        state =", "    if False:\n        state ="),
    Mutant("more-always", "STGET-32: more is empty when there are no more results",
           "http/statement_reads.py", "    if more:\n        state =", "    if rows:\n        state ="),
    Mutant("canonical-all-languages", "STGET-21: canonical activity maps hold one language",
           "xapi/formats.py", "out[prop] = reduce_language_map(out[prop], languages)",
           "out[prop] = out[prop]"),
    Mutant("canonical-ignores-accept-language", "STGET-22: canonical picks the language by "
           "Accept-Language", "http/statement_reads.py",
           'languages = parse_accept_language(xreq.headers.get("accept-language"))',
           "languages = parse_accept_language(None)"),
    Mutant("canonical-not-canonical", "STGET-20: format=canonical returns the LRS's definitions",
           "http/statement_reads.py",
           "canonical = {k: jsonparse.loads(v) for k, v in found.items()}", "canonical = {}"),
    Mutant("exact-as-canonical", "STGET-18: format=exact returns objects as received",
           "http/statement_reads.py", "        return lambda row: row.payload\n",
           '        fmt = "canonical"\n'),
    # Query parameters.
    Mutant("group-members-not-matched", "STGET-08: the agent filter matches a Group's members",
           "xapi/agents.py", "    for member in member_agents(actor):",
           "    for member in member_agents({}):"),
    Mutant("agent-param-unvalidated", "GEN-09/STGET-08: the agent parameter is a valid Agent",
           "xapi/statement_query.py", "    validate_agent(agent, version, name)\n", ""),
    Mutant("verb-param-not-iri", "GEN-09/STGET-10: the verb parameter is an IRI",
           "xapi/statement_query.py", "            if not is_iri(params[name]):",
           '            if name == "activity" and not is_iri(params[name]):'),
    # Documents.
    Mutant("state-registration-ignored", "STATE-02: a registration is a different State document",
           "xapi/documents.py", '        fields["registration"] = params["registration"].lower()',
           "        pass"),
    Mutant("doc-since-ignored", "DOC-17: since filters the id list",
           "xapi/documents.py", '            fields["since"] = since', "            pass"),
    Mutant("state-delete-all-noop", "STATE-05: DELETE without stateId removes every document",
           "store/documents.py", "        if doc_ids:\n            await execute(conn, DELETE_LISTED",
           "        if False:\n            await execute(conn, DELETE_LISTED"),
    Mutant("doc-id-list-empty", "STATE-03/APROF-02/AGPROF-02: the id list lists the documents",
           "http/documents.py", "listed = rules.id_list([doc_id for doc_id, _ in rows])",
           "listed = rules.id_list([])"),
    Mutant("doc-without-last-modified", "DOC-15: a document GET carries Last-Modified",
           "http/documents.py", '    if document.updated is not None:\n        headers["Last-Modified"]',
           '    if False:\n        headers["Last-Modified"]'),
    Mutant("doc-merge-any-content-type", "DOC-11: a POST merge needs application/json on both sides",
           "xapi/documents.py", "    if not is_json_type(document.content_type):\n        raise BadRequest(",
           "    if False:\n        raise BadRequest("),
    # Activities and Agents resources.
    Mutant("activity-unknown-404", "ACT-02: an unknown activity still gets an Activity (200)",
           "http/activities.py", '    activity: dict = {"objectType": "Activity", "id": activity_id}\n',
           '    if activity_id not in found:\n        from lrs.errors import NotFound\n'
           '        raise NotFound("no such activity")\n'
           '    activity: dict = {"objectType": "Activity", "id": activity_id}\n'),
    Mutant("activity-without-definition", "ACT-01: GET /activities returns the canonical definition",
           "http/activities.py", '        activity["definition"] = definition', "        pass"),
    Mutant("person-ifis-not-arrays", "AGT-02: a Person's properties are arrays",
           "xapi/persons.py", "result[prop] = [agent[prop]]", "result[prop] = agent[prop]"),
    # The 1.0.3 alternate request syntax.
    Mutant("alternate-content-ignored", "GEN-17: the form field content is the request body",
           "xapi/alternate.py", 'body = (content or "").encode("utf-8")', 'body = b""'),
    Mutant("alternate-method-ignored", "GEN-16: the method parameter names the request's method",
           "xapi/alternate.py", "    return methods[0]\n", '    return "POST"\n'),
    # Voiding.
    Mutant("voided-by-statement-id", "STGET-03: a voided statement is 404 by statementId",
           "store/statement_reader.py", "AND voided = $3 AND", "AND (voided OR NOT $3::boolean) AND"),
]


def _copy_of_head(into: Path) -> None:
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def _mutated(base: Path, where: Path, mutant: Mutant | None) -> Path:
    shutil.copytree(base, where)
    if mutant is not None:
        path = where / "lrs" / mutant.file
        text = path.read_text()
        if text.count(mutant.old) != 1:
            raise SystemExit(f"mutant {mutant.name}: its text occurs {text.count(mutant.old)} "
                             f"times in lrs/{mutant.file}, not once")
        path.write_text(text.replace(mutant.old, mutant.new))
    return where


def _env(code: Path) -> dict[str, str]:
    """The environment of an `lrs` command run from the copy at `code` (its
    cwd too, so its lrs/ is imported), with no LRS_* setting of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
    env["PYTHONPATH"] = str(code)
    return env


@contextlib.contextmanager
def _served(code: Path, data_dir: Path, log: Path) -> Iterator[str]:
    """`lrs serve` of the copy at `code`, ready; its URL. RuntimeError
    (from lrs_process) when it does not become ready."""
    url = f"http://127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "lrs", "serve", "--data-dir", str(data_dir),
               "--port", url.rsplit(":", 1)[1]]
    with open(log, "wb") as out, lrs_process(command, _env(code), url, cwd=code, stdout=out,
                                             stderr=subprocess.STDOUT):
        yield url


def _cli(code: Path, data_dir: Path, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "lrs", *args, "--data-dir", str(data_dir),
                          "--json"], cwd=code, env=_env(code), check=True, capture_output=True,
                         text=True, timeout=120).stdout
    return json.loads(out)


def _credentials(base: Path, data_dir: Path, first_log: Path) -> dict[str, str]:
    """Tenant A's key (printed at the first start), another tenant's, and a
    read-only one of A's."""
    text = first_log.read_text()
    key = re.search(r"key:\s+(\S+)", text).group(1)
    secret = re.search(r"secret:\s+(\S+)", text).group(1)
    other = _cli(base, data_dir, "tenant", "create", "mutants-b")
    b = _cli(base, data_dir, "credential", "create", "--tenant", other["name"], "--scope", "all")
    ro = _cli(base, data_dir, "credential", "create", "--tenant", "default",
              "--scope", "statements/read")
    return {"LRS_KEY": key, "LRS_SECRET": secret, "LRS_KEY_B": b["key"],
            "LRS_SECRET_B": b["secret"], "LRS_KEY_READONLY": ro["key"],
            "LRS_SECRET_READONLY": ro["secret"]}


def run_ours(url: str, credentials: dict[str, str], malformed: int) -> tuple[int, list[str]]:
    """Failures of our suite (not the throughput tests nor the fault scenarios)."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LRS_")},
           **credentials, "LRS_URL": f"{url}/xapi/", "LRS_CONF_MAX_BATCH": "2000",
           "LRS_CONF_MAX_BODY": "52428800", "LRS_CONF_MALFORMED": str(malformed)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider",
         "--no-header", "-rf", "-m", "not faults and not throughput"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    failed = [line.split(" ", 1)[1].split(" - ")[0] for line in result.stdout.splitlines()
              if line.startswith("FAILED ")]
    if result.returncode not in (0, 1):
        failed.append(f"pytest exited {result.returncode}: {result.stdout[-300:]}")
    return len(failed), failed


def run_adl(adl: Path, url: str, key: str, secret: str, version: str) -> tuple[int, list[str]]:
    """Failures of ADL's suite for one version, by test title."""
    before = set((adl / "logs").glob("*.log")) if (adl / "logs").is_dir() else set()
    result = subprocess.run(
        ["node", "bin/console_runner.js", "-e", f"{url}/xapi", "-a", "-u", key, "-p", secret,
         "-x", version], cwd=adl, capture_output=True, text=True, timeout=600)
    totals = [json.loads(line) for line in result.stdout.splitlines()
              if line.startswith('{"total"')]
    if not totals:
        # Said at once, not only in --keep's file: once (session 19) both
        # versions gave none, and without the runner's words the cause was lost.
        reason = (f"no summary (exit {result.returncode}): {result.stdout[-300:]} "
                  f"{result.stderr[-300:]}")
        print(f"ADL {version}: {reason}", file=sys.stderr)
        return -1, [reason]
    failed: list[str] = []
    logs = sorted(set((adl / "logs").glob("*.log")) - before, key=os.path.getmtime)
    if logs:
        _failed_titles(json.loads(logs[-1].read_text()).get("log", {}), "", failed)
        for log in logs:
            log.unlink()
    last = totals[-1]
    return last["total"] - last["passed"], failed


def _failed_titles(node: dict, requirement: str, into: list[str]) -> None:
    requirement = node.get("requirement") or requirement
    children = node.get("tests") or []
    if node.get("status") == "failed" and not children:
        into.append(f"{requirement}: {node.get('title', '')}".strip(": "))
    for child in children:
        _failed_titles(child, requirement, into)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--adl", type=Path, help="a checkout of adlnet/lrs-conformance-test-suite")
    p.add_argument("--only", help="comma-separated mutant names")
    p.add_argument("--malformed", type=int, default=300)
    p.add_argument("--keep", type=Path, help="write each mutant's failures here (JSON)")
    args = p.parse_args()
    chosen = MUTANTS
    if args.only:
        names = set(args.only.split(","))
        chosen = [m for m in MUTANTS if m.name in names]
    work = Path(tempfile.mkdtemp(prefix="lrs-mutants-"))
    results = []
    try:
        base = work / "base"
        _copy_of_head(base)
        data_dir = work / "data"
        with _served(base, data_dir, work / "first.log"):
            pass  # the first start creates tenant A and prints its credential
        credentials = _credentials(base, data_dir, work / "first.log")
        for mutant in [None, *chosen]:
            name = mutant.name if mutant else "(unchanged)"
            code = _mutated(base, work / f"m-{name.strip('()')}", mutant)
            log = work / f"{name.strip('()')}.log"
            started = time.monotonic()
            try:
                with _served(code, data_dir, log) as url:
                    ours = run_ours(url, credentials, args.malformed)
                    adl = {v: run_adl(args.adl, url, credentials["LRS_KEY"],
                                      credentials["LRS_SECRET"], v)
                           for v in ("1.0.3", "2.0.0")} if args.adl else {}
            except RuntimeError as exc:  # lrs_process: it did not become ready
                if mutant is None:
                    raise SystemExit(f"the unchanged LRS did not start: {exc}: "
                                     f"{log.read_text()[-300:]}") from None
                print(f"{name}: did not start ({log.read_text()[-300:]}); not counted",
                      flush=True)
                continue
            finally:
                shutil.rmtree(code, ignore_errors=True)
            results.append((mutant, ours, adl))
            print(f"{name}: ours {ours[0]} failed, "
                  + ", ".join(f"ADL {v} {n} failed" for v, (n, _) in adl.items())
                  + f" ({time.monotonic() - started:.0f} s)", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.keep:
        args.keep.write_text(json.dumps([
            {"mutant": m.name if m else None, "rule": m.rule if m else None,
             "ours": o[1], "adl": {v: f for v, (_, f) in a.items()}} for m, o, a in results],
            indent=1))
    _table(results, bool(args.adl))


def _table(results: list, with_adl: bool) -> None:
    print("\n| mutant | rule broken | ours: failed | ADL 1.0.3 | ADL 2.0.0 | verdict |")
    print("|---|---|---:|---:|---:|---|")
    for mutant, (ours, _), adl in results:
        caught_adl = any(n != 0 for n, _ in adl.values())
        if mutant is None:
            verdict = "baseline: must be 0 everywhere"
        elif not with_adl:
            verdict = "caught" if ours else "MISSED"
        else:
            verdict = {(True, True): "both", (True, False): "ours only",
                       (False, True): "ADL only: a gap in ours",
                       (False, False): "neither"}[(ours > 0, caught_adl)]
        cells = [str(adl[v][0]) if v in adl else "-" for v in ("1.0.3", "2.0.0")]
        print(f"| {mutant.name if mutant else '(unchanged)'} | {mutant.rule if mutant else ''} "
              f"| {ours} | {cells[0]} | {cells[1]} | {verdict} |")


if __name__ == "__main__":
    main()
