"""Load realistic xAPI statements into an LRS database, for benchmarks.

    python bench/generate.py --data-dir /tmp/bench-lrs --statements 1000000

Statements go through the same steps as POST /xapi/statements:
`ingest.receive` (parse + validate the JSON body), `ingest.batch` (prepare,
index) and the group-commit `StatementWriter`, so what is stored is exactly
what the HTTP path would store. Several tenants (agencies) are loaded
interleaved, as they would arrive; the first one gets `--statements`, the
others `--other-statements` each.

The shapes follow a Moodle-like platform: learners (account or mbox IFIs)
enrol in courses (one registration per enrolment) and work through modules
and lessons: launched / initialized / experienced / answered / progressed /
completed / passed / failed / terminated, with parent and grouping context
activities (module, course, programme), a category (cmi5 profile) on some,
an instructor on some, results with scores. A few statements are voided
later and a few others refer to earlier ones (StatementRef objects).

Deterministic for a given --seed (statement ids included); `stored` is the
clock of the load, as in production. At the end it runs VACUUM ANALYZE (what
autovacuum would do on its own, sooner or later) and writes a manifest JSON
(credentials and sample filter values) for bench/read_bench.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import orjson

from lrs import accounts, embedded, ingest
from lrs.auth.principal import Principal, authority_for, expand
from lrs.store import migrate, tenants
from lrs.store.db import Database
from lrs.store.statement_writer import StatementWriter

VERSION = "2.0.0"
ADL = "http://adlnet.gov/expapi/verbs/"
VERBS = {name: ADL + name for name in (
    "launched", "initialized", "experienced", "answered", "progressed", "completed",
    "passed", "failed", "terminated", "commented", "voided")}
ACT_TYPES = {
    "course": "http://adlnet.gov/expapi/activities/course",
    "module": "http://adlnet.gov/expapi/activities/module",
    "lesson": "http://adlnet.gov/expapi/activities/lesson",
    "question": "http://adlnet.gov/expapi/activities/cmi.interaction",
    "programme": "http://example.gov/xapi/activities/programme",
}
CMI5 = {"id": "https://w3id.org/xapi/cmi5/context/categories/cmi5"}
SHARED_COURSES = 6  # the common induction course and friends, in every agency


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class Agency:
    """One tenant's world: learners, instructors, courses, enrolments."""

    def __init__(self, name: str, index: int, statements: int, seed: int) -> None:
        self.name = name
        self.total = statements
        self.rng = random.Random(f"{seed}:{name}")
        rng = self.rng
        domain = f"{name}.gov.example"
        # Roughly one learner per 60 statements, at least 200.
        n_learners = max(200, statements // 60)
        self.learners = []
        for i in range(n_learners):
            if i % 10 < 7:  # Moodle sends accounts; others mailboxes
                actor = {"objectType": "Agent", "name": f"Learner {i}",
                         "account": {"homePage": f"https://moodle.{domain}", "name": f"u{i}"}}
            else:
                actor = {"objectType": "Agent", "name": f"Learner {i}",
                         "mbox": f"mailto:learner{i}@{domain}"}
            self.learners.append(actor)
        self.instructors = [{"objectType": "Agent", "name": f"Instructor {i}",
                             "mbox": f"mailto:instructor{i}@{domain}"} for i in range(40)]
        n_courses = max(20, min(300, statements // 4000))
        self.courses = [_course(f"https://moodle.{domain}/course/{c}", f"{name} course {c}", rng)
                        for c in range(n_courses)]
        self.courses += [_course(f"https://learning.gov.example/shared/{c}",
                                 f"Shared course {c}", random.Random(f"shared:{c}"))
                         for c in range(SHARED_COURSES)]
        self.programmes = [f"https://moodle.{domain}/programme/{p}" for p in range(8)]
        self.enrolments: dict[tuple[int, int], str] = {}
        self.recent_ids: list[str] = []  # candidates for voiding / referring
        self.voided: set[str] = set()
        self.made = 0
        self.day = 0.0

    def learner_index(self) -> int:
        # A long tail: a few very active learners, most occasional.
        return min(int(self.rng.paretovariate(1.2)) - 1, len(self.learners) - 1) \
            if self.rng.random() < 0.3 else self.rng.randrange(len(self.learners))

    def session(self) -> list[dict]:
        """One learner's visit to a course: 5 to ~25 statements."""
        rng = self.rng
        li = self.learner_index()
        ci = (rng.randrange(SHARED_COURSES) + len(self.courses) - SHARED_COURSES
              if rng.random() < 0.15 else rng.randrange(len(self.courses) - SHARED_COURSES))
        course = self.courses[ci]
        registration = self.enrolments.setdefault((li, ci), _uuid(rng))
        actor = self.learners[li]
        instructor = self.instructors[ci % len(self.instructors)] if rng.random() < 0.25 else None
        programme = self.programmes[ci % len(self.programmes)]
        self.day += rng.random() * 0.02
        t0 = 1_700_000_000 + int(self.day * 86400) + rng.randrange(86400)
        module = rng.choice(course["modules"])
        out = []

        def emit(verb: str, obj: dict, parent: dict, *, result: dict | None = None) -> None:
            context = {
                "registration": registration,
                "platform": "Moodle 4.1",
                "language": "en-GB",
                "contextActivities": {
                    "parent": [{"id": parent["id"], "objectType": "Activity"}],
                    "grouping": [{"id": course["id"], "objectType": "Activity"},
                                 {"id": programme, "objectType": "Activity"}],
                },
            }
            if len(out) % 3 == 0:
                context["contextActivities"]["category"] = [CMI5]
            if instructor is not None:
                context["instructor"] = instructor
            stmt = {
                "id": _uuid(rng),
                "actor": actor,
                "verb": {"id": VERBS[verb], "display": {"en-US": verb}},
                "object": obj,
                "context": context,
                "timestamp": _iso(t0 + 60 * len(out)),
            }
            if result is not None:
                stmt["result"] = result
            out.append(stmt)

        emit("launched", course["object"], course)
        emit("initialized", module["object"], course)
        for lesson in rng.sample(module["lessons"], k=rng.randint(1, len(module["lessons"]))):
            emit("experienced", lesson["object"], module,
                 result={"duration": f"PT{rng.randint(30, 1800)}S"})
            for q in lesson["questions"][: rng.randint(0, len(lesson["questions"]))]:
                ok = rng.random() < 0.7
                emit("answered", q["object"], lesson,
                     result={"success": ok, "response": rng.choice("abcd"),
                             "score": {"scaled": 1.0 if ok else 0.0}})
        emit("progressed", module["object"], course,
             result={"extensions": {"https://w3id.org/xapi/cmi5/result/extensions/progress":
                                    rng.randint(10, 100)}})
        if rng.random() < 0.4:
            emit("completed", module["object"], course, result={"completion": True})
        if rng.random() < 0.15:
            passed = rng.random() < 0.8
            scaled = round(rng.uniform(0.8, 1.0) if passed else rng.uniform(0.2, 0.79), 2)
            emit("passed" if passed else "failed", course["object"], course,
                 result={"success": passed, "completion": True,
                         "score": {"scaled": scaled, "raw": int(scaled * 100), "min": 0,
                                   "max": 100}})
        emit("terminated", course["object"], course)
        self._refer(out, actor)
        self.made += len(out)
        return out

    def _refer(self, out: list[dict], actor: dict) -> None:
        """~0.2% voiding statements, ~0.1% comments on an earlier statement."""
        rng = self.rng
        if len(self.recent_ids) > 50 and rng.random() < 0.02:
            target = rng.choice(self.recent_ids)
            if target not in self.voided:
                self.voided.add(target)
                out.append({
                    "id": _uuid(rng),
                    "actor": {"objectType": "Agent", "name": "Moodle admin",
                              "mbox": f"mailto:admin@{self.name}.gov.example"},
                    "verb": {"id": VERBS["voided"], "display": {"en-US": "voided"}},
                    "object": {"objectType": "StatementRef", "id": target}})
        if len(self.recent_ids) > 50 and rng.random() < 0.01:
            out.append({
                "id": _uuid(rng), "actor": actor,
                "verb": {"id": VERBS["commented"], "display": {"en-US": "commented"}},
                "object": {"objectType": "StatementRef", "id": rng.choice(self.recent_ids)},
                "result": {"response": "Please check question 3."}})
        self.recent_ids.extend(s["id"] for s in out[:3])
        del self.recent_ids[:-2000]


def _course(course_id: str, title: str, rng: random.Random) -> dict:
    def activity(aid: str, kind: str, name: str) -> dict:
        return {"id": aid, "object": {
            "objectType": "Activity", "id": aid,
            "definition": {"type": ACT_TYPES[kind], "name": {"en-GB": name}}}}

    course = activity(course_id, "course", title)
    course["modules"] = []
    for m in range(rng.randint(4, 10)):
        module = activity(f"{course_id}/module/{m}", "module", f"{title}, module {m}")
        module["lessons"] = []
        for lesson_no in range(rng.randint(3, 8)):
            lid = f"{course_id}/module/{m}/lesson/{lesson_no}"
            lesson = activity(lid, "lesson", f"{title}, lesson {m}.{lesson_no}")
            lesson["questions"] = [activity(f"{lid}/q/{q}", "question", f"Question {q}")
                                   for q in range(rng.randint(0, 4))]
            module["lessons"].append(lesson)
        course["modules"].append(module)
    return course


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch))


# -- loading -----------------------------------------------------------------

async def _tenant(conn: asyncpg.Connection, name: str, base_url: str) -> tuple[Principal, dict]:
    if await tenants.find_tenant_id(conn, name) is None:
        await tenants.create_tenant(conn, name)
    cred = await accounts.create_credential(conn, tenant=name, scopes=["all"], label="bench")
    tenant_id = await tenants.tenant_id(conn, name)
    principal = Principal(tenant_id=tenant_id, tenant=name, credential=cred["key"],
                          scopes=expand(["all"]), authority=authority_for(base_url, cred["key"]))
    return principal, cred


def _write_batch(agency: Agency, principal: Principal, size: int):
    statements: list[dict] = []
    while len(statements) < size and agency.made < agency.total:
        statements.extend(agency.session())
    body = orjson.dumps(statements)
    received = ingest.receive(body, "application/json", VERSION, max_statements=10_000)
    return ingest.batch(received, version=VERSION, principal=principal)


async def load(url: str, args: argparse.Namespace) -> dict:
    conn = await asyncpg.connect(url)
    try:
        await migrate.apply(conn)
        names = [f"agency-{chr(ord('a') + i)}" for i in range(1 + args.other_tenants)]
        made = [await _tenant(conn, n, args.base_url) for n in names]
    finally:
        await conn.close()
    sizes = [args.statements] + [args.other_statements] * args.other_tenants
    agencies = [Agency(n, i, s, args.seed) for i, (n, s) in enumerate(zip(names, sizes))]
    db = await Database.connect(url, min_size=2, max_size=4)
    writer = StatementWriter(db)
    await writer.start()
    started = time.perf_counter()
    deadline = started + args.max_seconds
    in_flight: set[asyncio.Task] = set()
    total = sum(sizes)
    done = 0
    last_report = started
    try:
        while True:
            open_ = [i for i, a in enumerate(agencies) if a.made < a.total]
            if not open_ or time.perf_counter() > deadline:
                break
            # Interleave agencies in proportion to what each has left.
            weights = [agencies[i].total - agencies[i].made for i in open_]
            i = random.Random(f"{args.seed}:{done}").choices(open_, weights)[0]
            batch = _write_batch(agencies[i], made[i][0], args.batch)
            done += len(batch.statements)
            in_flight.add(asyncio.ensure_future(writer.write(batch)))
            if len(in_flight) >= args.in_flight:
                finished, in_flight = await asyncio.wait(in_flight,
                                                         return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    task.result()
            now = time.perf_counter()
            if now - last_report > 10:
                last_report = now
                print(f"  {done:>9,} / {total:,} statements, "
                      f"{done / (now - started):,.0f}/s", flush=True)
        if in_flight:
            for task in (await asyncio.wait(in_flight))[0]:
                task.result()
    finally:
        await writer.stop()
        await db.close()
    elapsed = time.perf_counter() - started
    print(f"loaded {done:,} statements in {elapsed:,.1f} s: {done / elapsed:,.0f}/s"
          + (" (stopped at --max-seconds)" if done < total else ""), flush=True)

    conn = await asyncpg.connect(url)
    try:
        t = time.perf_counter()
        await conn.execute("VACUUM ANALYZE statements, statement_agents, statement_activities")
        print(f"VACUUM ANALYZE in {time.perf_counter() - t:,.1f} s", flush=True)
        tenants_out = []
        for agency, (principal, cred) in zip(agencies, made, strict=True):
            row = await conn.fetchrow(
                "SELECT count(*) AS n, min(stored) AS lo, max(stored) AS hi FROM statements "
                "WHERE tenant_id = $1", principal.tenant_id)
            tenants_out.append(_manifest_tenant(agency, cred, row))
    finally:
        await conn.close()
    return {"seed": args.seed, "loaded": done, "seconds": round(elapsed, 1),
            "rate": round(done / elapsed), "tenants": tenants_out}


def _manifest_tenant(agency: Agency, cred: dict, row: asyncpg.Record) -> dict:
    """Credentials and filter values that occur in this tenant's data."""
    rng = random.Random(f"manifest:{agency.name}")
    from lrs.xapi.agents import agent_key  # noqa: F401 - the same key the reader uses
    used_learners = sorted({li for li, _ in agency.enrolments})
    learners = [agency.learners[i] for i in rng.sample(used_learners, min(200, len(used_learners)))]
    courses = agency.courses
    lessons = [lesson["id"] for c in courses for m in c["modules"] for lesson in m["lessons"]]
    modules = [m["id"] for c in courses for m in c["modules"]]
    regs = list(agency.enrolments.values())
    return {
        "name": agency.name, "key": cred["key"], "secret": cred["secret"],
        "statements": row["n"],
        "stored_min": row["lo"].isoformat() if row["lo"] else None,
        "stored_max": row["hi"].isoformat() if row["hi"] else None,
        "learners": learners,
        "instructors": agency.instructors,
        "verbs": [v for v in VERBS.values()],
        "lessons": rng.sample(lessons, min(200, len(lessons))),
        "modules": rng.sample(modules, min(100, len(modules))),
        "courses": [c["id"] for c in courses],
        "registrations": rng.sample(regs, min(200, len(regs))),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load realistic xAPI statements for benchmarks.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--data-dir", help="embedded PostgreSQL data folder (as `lrs serve`)")
    where.add_argument("--database-url", help="a PostgreSQL URL to load instead")
    parser.add_argument("--statements", type=int, default=1_000_000,
                        help="statements of the first tenant (default 1,000,000)")
    parser.add_argument("--other-tenants", type=int, default=3)
    parser.add_argument("--other-statements", type=int, default=50_000,
                        help="statements of each other tenant (default 50,000)")
    parser.add_argument("--batch", type=int, default=500, help="statements per request")
    parser.add_argument("--in-flight", type=int, default=4, help="batches queued at once")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=1800,
                        help="stop loading after this long (default 1800)")
    parser.add_argument("--base-url", default="http://127.0.0.1:8300",
                        help="the LRS base URL, for the authority of stored statements")
    parser.add_argument("--manifest", help="where to write the manifest "
                        "(default DATA_DIR/bench-manifest.json, or ./bench-manifest.json)")
    args = parser.parse_args(argv)
    manifest_path = Path(args.manifest or (Path(args.data_dir) / "bench-manifest.json"
                                           if args.data_dir else "bench-manifest.json"))
    with contextlib.ExitStack() as stack:
        url = args.database_url or stack.enter_context(embedded.running(Path(args.data_dir)))
        manifest = asyncio.run(load(url, args))
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    print(f"manifest: {manifest_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
