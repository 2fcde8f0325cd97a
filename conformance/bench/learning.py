"""A model of the learning an agency records, for load generation: learners
(account or mbox IFIs) enrol in courses (one registration per enrolment) and
work through modules and lessons: launched / initialized / experienced /
answered / progressed / completed / passed / failed / terminated, with parent
and grouping context activities (module, course, programme), a category
(cmi5 profile) on some, an instructor on some, results with scores. A few
statements are voided later and a few others refer to earlier ones
(StatementRef objects). About 1 KB a statement as posted.

Standard library only: the benchmark can drive any LRS with it, and
bench/generate.py loads our database with the same statements."""

from __future__ import annotations

import random
import time
import uuid

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
