// TinCanJS (tincanjs, node build) against the LRS: `node tincanjs.mjs SCENARIO`.
// It speaks xAPI 1.0.2 at most (TinCan.versions()), and in Node only
// asynchronously: every call takes a callback, wrapped here in a promise.

import TinCan from "tincanjs";
import { ATTEMPTED, COMPLETED, courseId, env, learner, main, uuid } from "./common.mjs";

const VERSION = "1.0.2";

const connect = (key = env.key, secret = env.secret) =>
  new TinCan.LRS({ endpoint: env.endpoint, username: key, password: secret, version: VERSION, allowFail: false });

const lrs = connect();

// call((callback) => lrs.x(..., { callback })) -> { err, result }; err is the
// HTTP status (or null), result the library's object (or the xhr on error).
const call = (start) => new Promise((resolve) => start((err, result) => resolve({ err, result })));

async function ok(start) {
  const { err, result } = await call(start);
  if (err !== null) {
    throw new Error(`TinCanJS call failed: ${err} ${result && result.responseText}`);
  }
  return result;
}

const statusOf = ({ err, result }) => (err === null ? result.status : err);

const statement = (actor, verbId, activityId, extra = {}) => new TinCan.Statement({
  actor,
  verb: { id: verbId, display: { "en-US": verbId.split("/").pop() } },
  target: { id: activityId, definition: { name: { "en-US": "Induction" } } },
  ...extra,
});

async function everything(params, on = lrs) {
  let page = await ok((callback) => on.queryStatements({ params, callback }));
  const pages = [page.statements];
  while (page.more) {
    const url = page.more;
    page = await ok((callback) => on.moreStatements({ url, callback }));
    pages.push(page.statements);
  }
  return pages;
}

const summary = (s) => [s.actor.mbox, s.verb.id, s.target.id];

const scenarios = {
  async statements() {
    const actor = learner("ana");
    const activityId = courseId();
    const one = statement(actor, COMPLETED, activityId, {
      result: { score: { scaled: 0.9, raw: 9, min: 0, max: 10 }, success: true, completion: true },
    });
    const saveStatus = statusOf(await call((callback) => lrs.saveStatement(one, { callback })));
    const got = await ok((callback) => lrs.retrieveStatement(one.id, { callback }));
    const batch = [0, 1, 2].map((i) => statement(actor, ATTEMPTED, `${activityId}/module-${i}`));
    const batchXhr = await ok((callback) => lrs.saveStatements(batch, { callback }));
    const readBack = [];
    for (const s of batch) {
      readBack.push((await ok((callback) => lrs.retrieveStatement(s.id, { callback }))).target.id);
    }
    return {
      actor, activityId, id: one.id, saveStatus,
      got: {
        id: got.id, mbox: got.actor.mbox, name: got.actor.name, verb: got.verb.id,
        display: got.verb.display, object: got.target.id, name_en: got.target.definition.name["en-US"],
        scaled: got.result.score.scaled, success: got.result.success, stored: got.stored,
        authority: got.authority && got.authority.objectType,
      },
      batch: batch.map((s) => s.target.id), batchIds: batch.map((s) => s.id),
      batchResponse: JSON.parse(batchXhr.responseText), readBack,
    };
  },

  async query() {
    const ana = learner("ana");
    const ben = learner("ben");
    const first = courseId("first");
    const second = courseId("second");
    const made = [
      statement(ana, COMPLETED, first), statement(ana, ATTEMPTED, second), statement(ben, COMPLETED, second),
    ];
    await ok((callback) => lrs.saveStatements(made, { callback }));
    const found = async (params) => (await everything(params)).flat().map(summary);
    return {
      made: made.map(summary),
      byAgent: await found({ agent: new TinCan.Agent({ mbox: ana.mbox }) }),
      byVerb: await found({ verb: new TinCan.Verb({ id: ATTEMPTED }), activity: new TinCan.Activity({ id: second }) }),
      byActivity: await found({ activity: new TinCan.Activity({ id: second }) }),
      byVerbAndAgent: await found({ verb: new TinCan.Verb({ id: COMPLETED }), agent: new TinCan.Agent({ mbox: ben.mbox }) }),
    };
  },

  async paging() {
    const registration = uuid();
    const actor = learner();
    const activityId = courseId();
    const made = Array.from({ length: 25 }, () =>
      statement(actor, COMPLETED, activityId, { context: { registration } }));
    await ok((callback) => lrs.saveStatements(made, { callback }));
    await ok((callback) => lrs.saveStatement(statement(actor, COMPLETED, activityId), { callback }));
    const pages = await everything({ registration, limit: 10 });
    return { ids: made.map((s) => s.id), pages: pages.map((page) => page.map((s) => s.id)) };
  },

  async voiding() {
    const actor = learner();
    const target = statement(actor, COMPLETED, courseId());
    await ok((callback) => lrs.saveStatement(target, { callback }));
    // The high-level TinCan object, as authoring tools' content uses it.
    const tincan = new TinCan({ recordStores: [lrs], actor: new TinCan.Agent(actor) });
    const { results, voiding } = await new Promise((resolve) => {
      tincan.voidStatement(target.id, (results, voiding) => resolve({ results, voiding }), {});
    });
    const after = await call((callback) => lrs.retrieveStatement(target.id, { callback }));
    const voided = await ok((callback) => lrs.retrieveVoidedStatement(target.id, { callback }));
    const listed = (await everything({ agent: new TinCan.Agent({ mbox: actor.mbox }) })).flat();
    return {
      target: target.id, voidErr: results[0].err, voiding: voiding.id, afterErr: after.err,
      voided: voided.id, listed: listed.map((s) => [s.id, s.verb.id, s.target.id]),
    };
  },

  async state() {
    const agent = new TinCan.Agent(learner());
    const activity = new TinCan.Activity({ id: courseId() });
    const where = { agent, activity };
    const progress = { page: 7, bookmark: "chapter-2" };
    await ok((callback) => lrs.saveState("progress", progress, { ...where, contentType: "application/json", callback }));
    await ok((callback) => lrs.saveState("note", "resume at chapter 2", { ...where, contentType: "text/plain", callback }));
    const got = await ok((callback) => lrs.retrieveState("progress", { ...where, callback }));
    const note = await ok((callback) => lrs.retrieveState("note", { ...where, callback }));
    const stale = await call((callback) => lrs.saveState("progress", { page: 1 }, {
      ...where, contentType: "application/json", lastSHA1: '"stale"', callback,
    }));
    const fresh = await call((callback) => lrs.saveState("progress", { page: 9 }, {
      ...where, contentType: "application/json", lastSHA1: got.etag, callback,
    }));
    const after = await ok((callback) => lrs.retrieveState("progress", { ...where, callback }));
    const registration = uuid();
    await ok((callback) => lrs.saveState("scoped", "r", { ...where, registration, contentType: "text/plain", callback }));
    const scopedIds = await ok((callback) => lrs.retrieveStateIds({ ...where, registration, callback }));
    const ids = await ok((callback) => lrs.retrieveStateIds({ ...where, callback }));
    await ok((callback) => lrs.dropState("note", { ...where, callback }));
    const noteGone = await ok((callback) => lrs.retrieveState("note", { ...where, callback }));
    await ok((callback) => lrs.dropState(null, { ...where, callback }));
    const left = await ok((callback) => lrs.retrieveStateIds({ ...where, callback }));
    return {
      progress, got: got.contents, gotType: got.contentType, etag: got.etag, note: note.contents,
      noteType: note.contentType, stale: statusOf(stale), fresh: statusOf(fresh), after: after.contents,
      scopedIds, ids, noteGone, left,
    };
  },

  async activityProfile() {
    const activity = new TinCan.Activity({ id: courseId() });
    const save = (value, lastSHA1) => call((callback) => lrs.saveActivityProfile("settings", value, {
      activity, contentType: "application/json", lastSHA1, callback,
    }));
    // Without lastSHA1 the library sends If-None-Match: * (create only).
    const created = statusOf(await save({ theme: "dark" }));
    const first = await ok((callback) => lrs.retrieveActivityProfile("settings", { activity, callback }));
    const again = statusOf(await save({ theme: "x" }));
    const stale = statusOf(await save({ theme: "x" }, '"stale"'));
    const fresh = statusOf(await save({ theme: "light" }, first.etag));
    const second = await ok((callback) => lrs.retrieveActivityProfile("settings", { activity, callback }));
    const ids = await ok((callback) => lrs.retrieveActivityProfileIds({ activity, callback }));
    await ok((callback) => lrs.dropActivityProfile("settings", { activity, callback }));
    const gone = await ok((callback) => lrs.retrieveActivityProfile("settings", { activity, callback }));
    return {
      created, first: first.contents, etag: first.etag, again, stale, fresh,
      second: second.contents, secondEtag: second.etag, ids, gone,
    };
  },

  async agentProfile() {
    const agent = new TinCan.Agent(learner());
    const save = (value, lastSHA1) => call((callback) => lrs.saveAgentProfile("preferences", value, {
      agent, contentType: "text/plain", lastSHA1, callback,
    }));
    const created = statusOf(await save("large-print"));
    const first = await ok((callback) => lrs.retrieveAgentProfile("preferences", { agent, callback }));
    const again = statusOf(await save("audio"));
    const stale = statusOf(await save("audio", '"stale"'));
    const fresh = statusOf(await save("audio", first.etag));
    const second = await ok((callback) => lrs.retrieveAgentProfile("preferences", { agent, callback }));
    const ids = await ok((callback) => lrs.retrieveAgentProfileIds({ agent, callback }));
    await ok((callback) => lrs.dropAgentProfile("preferences", { agent, callback }));
    const gone = await ok((callback) => lrs.retrieveAgentProfile("preferences", { agent, callback }));
    return {
      created, first: first.contents, firstType: first.contentType, again, stale, fresh,
      second: second.contents, ids, gone,
    };
  },

  async activity() {
    const activityId = courseId();
    const s = new TinCan.Statement({
      actor: learner(),
      verb: { id: COMPLETED },
      target: {
        id: activityId,
        definition: { name: { "en-US": "Induction" }, type: "http://adlnet.gov/expapi/activities/course" },
      },
    });
    await ok((callback) => lrs.saveStatement(s, { callback }));
    const got = await ok((callback) => lrs.retrieveActivity(activityId, { callback }));
    return { activityId, id: got.id, name: got.definition.name, type: got.definition.type };
  },

  async about() {
    const about = await ok((callback) => lrs.about({ callback }));
    return { version: about.version };
  },

  async tenants() {
    const other = connect(env.otherKey, env.otherSecret);
    const actor = learner();
    const s = statement(actor, COMPLETED, courseId());
    await ok((callback) => lrs.saveStatement(s, { callback }));
    const agent = new TinCan.Agent({ mbox: actor.mbox });
    return {
      id: s.id,
      mine: (await everything({ agent })).flat().map((x) => x.id),
      theirsGet: (await call((callback) => other.retrieveStatement(s.id, { callback }))).err,
      theirs: (await everything({ agent }, other)).flat().map((x) => x.id),
    };
  },
};

await main(scenarios);
