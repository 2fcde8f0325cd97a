// xAPIWrapper (xapiwrapper, ADL's browser library) against the LRS:
// `node xapiwrapper.mjs SCENARIO`. It needs a browser (window, document,
// location, XMLHttpRequest), so its bundle, CryptoJS included, runs in a
// jsdom window whose URL is the LRS's own origin: its XMLHttpRequest then
// makes real, same-origin requests to the LRS. Its X-Experience-API-Version
// is ADL.XAPIWrapper.xapiVersion ("1.0.1" as shipped); LRS_VERSION, when
// set, replaces it.

import { readFileSync } from "node:fs";
import { JSDOM, VirtualConsole } from "jsdom";
import {
  ATTEMPTED, COMPLETED, courseId, describedCourse, env, learner, main, uuid,
} from "./common.mjs";

const BUNDLE = readFileSync(
  new URL("./node_modules/xapiwrapper/dist/xapiwrapper.min.js", import.meta.url), "utf8");
const VOIDED = "http://adlnet.gov/expapi/verbs/voided";

// A page at the LRS's origin with the wrapper loaded and configured: what
// browser content does with <script src="xapiwrapper.min.js">. Its console
// (the wrapper's log) is kept in `logged`, off stdout.
function page(key = env.key, secret = env.secret) {
  const logged = [];
  const virtualConsole = new VirtualConsole();
  virtualConsole.on("log", (...args) => logged.push(args.join(" ")));
  virtualConsole.on("jsdomError", (error) => logged.push(`jsdom: ${error.message}`));
  const dom = new JSDOM("<!doctype html><title>course</title>", {
    url: new URL(env.endpoint).origin + "/course/index.html",
    runScripts: "outside-only",
    virtualConsole,
  });
  dom.window.eval(BUNDLE);
  const { ADL } = dom.window;
  // strictCallbacks: error-first callbacks, called on errors too (without it
  // a failed request with a callback never calls back).
  ADL.XAPIWrapper.changeConfig({
    endpoint: env.endpoint, user: key, password: secret, strictCallbacks: true,
  });
  if (env.version) {
    ADL.XAPIWrapper.xapiVersion = env.version;
  }
  // A value made in the page: the wrapper tests `value instanceof Object`
  // (and Array), which is false for an object from Node's own realm.
  const local = (value) => dom.window.JSON.parse(JSON.stringify(value));
  return { ADL, wrapper: ADL.XAPIWrapper, local, logged };
}

const { ADL, wrapper, local } = page();

// call((done) => wrapper.x(..., done)) -> { status, body, etag, type, error }:
// what the strict callback got (err, xhr, body).
const call = (start) => new Promise((resolve) => {
  start((err, xhr, body) => resolve({
    status: xhr.status,
    body,
    etag: xhr.getResponseHeader("ETag"),
    type: xhr.getResponseHeader("Content-Type"),
    version: xhr.getResponseHeader("X-Experience-API-Version"),
    error: err ? err.message : null,
  }));
});

async function ok(start) {
  const answer = await call(start);
  if (answer.error) {
    throw new Error(`xAPIWrapper call failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return answer;
}

// Every statement of a query, following `more` with getStatements(null, more).
async function pages(params) {
  let answer = await ok((done) => wrapper.getStatements(params, null, done));
  const out = [answer.body.statements];
  while (answer.body.more) {
    const more = answer.body.more;
    answer = await ok((done) => wrapper.getStatements(null, more, done));
    out.push(answer.body.statements);
  }
  return out;
}

const byId = (statementId) => ok((done) => wrapper.getStatements({ statementId }, null, done));

// The wrapper puts each search parameter in the URL as it is: an Agent must
// be given as JSON text.
const search = (params) => {
  const out = wrapper.searchParams();
  for (const [name, value] of Object.entries(params)) {
    out[name] = typeof value === "object" ? JSON.stringify(value) : value;
  }
  return out;
};

const verb = (id) => ({ id, display: { "en-US": id.split("/").pop() } });
const triple = (s) => [s.actor.mbox, s.verb.id, s.object.id];
const unquote = (etag) => etag && etag.replace(/^"|"$/g, "");

const scenarios = {
  async statements() {
    const actor = learner("ana");
    const object = {
      objectType: "Activity",
      id: courseId(),
      definition: { name: { "en-US": "Induction" } },
    };
    const statement = {
      actor,
      verb: ADL.verbs.completed,
      object,
      result: { score: { scaled: 0.9, raw: 9, min: 0, max: 10 }, success: true },
    };
    // The wrapper stamps an id on the statement and hands it to the callback.
    const sent = await ok((done) => wrapper.sendStatement(statement, done));
    const got = await byId(sent.body.id);

    const batch = [0, 1, 2].map((i) => ({
      actor,
      verb: verb(ATTEMPTED),
      object: { id: `${object.id}/module-${i}` },
    }));
    const batchAnswer = await ok((done) => wrapper.sendStatements(batch, done));
    const readBack = [];
    for (const statementId of batchAnswer.body) {
      readBack.push((await byId(statementId)).body.object.id);
    }
    const found = async (params) => (await pages(search(params))).flat().map(triple);
    return {
      actor,
      object,
      sendStatus: sent.status,
      id: sent.body.id,
      stampedId: statement.id,
      got: got.body,
      batchStatus: batchAnswer.status,
      ids: batchAnswer.body,
      batch: batch.map((s) => s.object.id),
      readBack,
      byAgent: await found({ agent: { mbox: actor.mbox } }),
      byAgentAndVerb: await found({ agent: { mbox: actor.mbox }, verb: COMPLETED }),
      byActivity: await found({ activity: `${object.id}/module-1` }),
      // An Agent object as the value, as the other libraries take it.
      agentObject: (await call((done) => wrapper.getStatements({
        agent: { mbox: actor.mbox },
      }, null, done))).status,
    };
  },

  async paging() {
    const registration = uuid();
    const actor = learner();
    const object = { id: courseId() };
    const made = Array.from({ length: 25 }, () => ({
      actor, verb: verb(ATTEMPTED), object, context: { registration },
    }));
    const ids = (await ok((done) => wrapper.sendStatements(made, done))).body;
    await ok((done) => wrapper.sendStatement({ actor, verb: verb(COMPLETED), object }, done));
    const found = await pages(search({ registration, limit: 10 }));
    return { ids, pages: found.map((p) => p.map((s) => s.id)) };
  },

  async voiding() {
    const actor = learner();
    const object = { id: courseId() };
    const target = (await ok((done) => wrapper.sendStatement({
      actor, verb: verb(COMPLETED), object,
    }, done))).body.id;
    const voiding = (await ok((done) => wrapper.sendStatement({
      actor, verb: ADL.verbs.voided, object: { objectType: "StatementRef", id: target },
    }, done))).body.id;
    const after = await call((done) => wrapper.getStatements({ statementId: target }, null, done));
    const voided = await ok((done) => wrapper.getStatements({
      voidedStatementId: target,
    }, null, done));
    const listed = (await pages(search({ agent: { mbox: actor.mbox } }))).flat();
    return {
      target,
      voiding,
      afterStatus: after.status,
      afterError: after.error,
      voided: { id: voided.body.id, verb: voided.body.verb.id },
      listed: listed.map((s) => [s.id, s.verb.id, s.object.id]),
      voidedVerb: ADL.verbs.voided.id,
    };
  },

  async state() {
    const agent = learner();
    const activityId = courseId();
    const send = (stateId, value, registration = null, match = null, noneMatch = null) =>
      call((done) => wrapper.sendState(
        activityId, agent, stateId, registration, local(value), match, noneMatch, done));
    const get = (stateId, registration = null) =>
      call((done) => wrapper.getState(activityId, agent, stateId, registration, null, done));

    const progress = { page: 7, bookmark: "chapter-2" };
    const created = await send("progress", progress);
    const got = await get("progress");
    // An object goes as a POST: the LRS merges it into the stored one.
    const mergeStatus = (await send("progress", { page: 8, done: false })).status;
    const merged = await get("progress");
    // Text goes as a PUT of application/octet-stream.
    const noteStatus = (await send("note", "resume at chapter 2")).status;
    const note = await get("note");

    // The README's way to update: the hash of the document as read.
    const stale = (await send("progress", { page: 1 }, null, wrapper.hash("{}"))).status;
    const fresh = (await send(
      "progress", { page: 9 }, null, wrapper.hash(JSON.stringify(merged.body)))).status;
    // The ETag header as the LRS sent it (quoted): formatHash quotes it again.
    const current = await get("progress");
    const asSent = (await send("progress", { page: 10 }, null, current.etag)).status;
    const unquoted = (await send("progress", { page: 10 }, null, unquote(current.etag))).status;
    const after = await get("progress");

    const registration = uuid();
    await ok((done) => wrapper.sendState(
      activityId, agent, "scoped", registration, local({ attempt: 1 }), null, null, done));
    const scoped = await get("scoped", registration);
    const unscopedRead = (await get("scoped")).status;
    const scopedIds = (await get(null, registration)).body;
    const ids = (await get(null)).body;

    const del = (stateId, registration = null) => call((done) => wrapper.deleteState(
      activityId, agent, stateId, registration, null, null, done));
    const deleteStatus = (await del("note")).status;
    const noteGone = await get("note");
    const scopedDelete = (await del("scoped", registration)).status;
    const scopedGone = (await get("scoped", registration)).status;
    return {
      progress,
      createStatus: created.status,
      got: got.body,
      gotType: got.type,
      etag: got.etag,
      sha1: wrapper.hash(JSON.stringify(progress)),
      mergeStatus,
      merged: merged.body,
      noteStatus,
      note: note.body,
      noteType: note.type,
      stale,
      fresh,
      asSent,
      unquoted,
      after: after.body,
      scoped: scoped.body,
      unscopedRead,
      scopedIds,
      ids,
      deleteStatus,
      noteGone: { status: noteGone.status, error: noteGone.error },
      scopedDelete,
      scopedGone,
    };
  },

  async activityProfile() {
    const activityId = courseId();
    const send = (profileId, value, match = null, noneMatch = null) =>
      call((done) => wrapper.sendActivityProfile(
        activityId, profileId, local(value), match, noneMatch, done));
    const get = (profileId) =>
      call((done) => wrapper.getActivityProfile(activityId, profileId, null, done));
    const del = (profileId, match = null) =>
      call((done) => wrapper.deleteActivityProfile(activityId, profileId, match, null, done));

    // Text is a PUT, and the wrapper sends neither If-Match nor
    // If-None-Match unless it is given a hash or "*".
    const plain = await send("plain", "dark");
    const plainRead = await get("plain");
    const createStatus = (await send("theme", "dark", null, "*")).status;
    const theme = await get("theme");
    const again = (await send("theme", "light", null, "*")).status;
    const stale = (await send("theme", "light", wrapper.hash("other"))).status;
    const asSent = (await send("theme", "light", theme.etag)).status;
    const fresh = (await send("theme", "light", wrapper.hash("dark"))).status;
    const themeAfter = await get("theme");

    // An object is a POST (a merge), which needs no precondition header.
    const objectCreate = (await send("settings", { theme: "dark" })).status;
    const first = await get("settings");
    const merge = (await send(
      "settings", { font: "large" }, wrapper.hash(JSON.stringify(first.body)))).status;
    const merged = await get("settings");
    const ids = (await get(null)).body;
    const staleDelete = (await del("settings", wrapper.hash("other"))).status;
    const deleteStatus = (await del("settings", unquote(merged.etag))).status;
    const afterDelete = await get("settings");
    return {
      plain: { status: plain.status, error: plain.error, body: plain.body },
      plainRead: { status: plainRead.status, body: plainRead.body },
      createStatus,
      theme: theme.body,
      themeType: theme.type,
      etag: theme.etag,
      sha1: wrapper.hash("dark"),
      again,
      stale,
      asSent,
      fresh,
      themeAfter: themeAfter.body,
      objectCreate,
      first: first.body,
      firstType: first.type,
      merge,
      merged: merged.body,
      ids,
      staleDelete,
      deleteStatus,
      afterDelete: { status: afterDelete.status, error: afterDelete.error },
    };
  },

  async agentProfile() {
    const agent = learner();
    const send = (profileId, value, match = null, noneMatch = null) =>
      call((done) => wrapper.sendAgentProfile(
        agent, profileId, local(value), match, noneMatch, done));
    const get = (profileId) =>
      call((done) => wrapper.getAgentProfile(agent, profileId, null, done));

    const plain = await send("plain", "large-print");
    const plainRead = await get("plain");
    const createStatus = (await send("preferences", "large-print", null, "*")).status;
    const first = await get("preferences");
    const again = (await send("preferences", "audio", null, "*")).status;
    const stale = (await send("preferences", "audio", wrapper.hash("other"))).status;
    const asSent = (await send("preferences", "audio", first.etag)).status;
    const fresh = (await send("preferences", "audio", unquote(first.etag))).status;
    const second = await get("preferences");
    const objectCreate = (await send("settings", { volume: 3 })).status;
    const settings = await get("settings");
    const ids = (await get(null)).body;
    const deleteStatus = (await call((done) => wrapper.deleteAgentProfile(
      agent, "preferences", null, null, done))).status;
    const afterDelete = await get("preferences");
    return {
      plain: { status: plain.status, error: plain.error, body: plain.body },
      plainRead: { status: plainRead.status, body: plainRead.body },
      createStatus,
      first: first.body,
      firstType: first.type,
      etag: first.etag,
      sha1: wrapper.hash("large-print"),
      again,
      stale,
      asSent,
      fresh,
      second: second.body,
      objectCreate,
      settings: settings.body,
      settingsType: settings.type,
      ids,
      deleteStatus,
      afterDelete: { status: afterDelete.status, error: afterDelete.error },
    };
  },

  async resources() {
    const actor = learner("ana");
    const object = describedCourse();
    await ok((done) => wrapper.sendStatement({ actor, verb: ADL.verbs.completed, object }, done));
    const unknownId = courseId("never-used");
    return {
      actor,
      object,
      activity: (await ok((done) => wrapper.getActivities(object.id, done))).body,
      unknown: (await ok((done) => wrapper.getActivities(unknownId, done))).body,
      unknownId,
      person: (await ok((done) => wrapper.getAgents({ mbox: actor.mbox }, done))).body,
    };
  },

  async attachments() {
    const content = "certificate of completion for Ana";
    const statement = {
      actor: learner("ana"), verb: ADL.verbs.completed, object: { id: courseId() },
    };
    // The wrapper fills in length and sha2 and sends multipart/mixed. The
    // value is an ArrayBuffer: a string would go through TextEncoder, which
    // jsdom's window does not have.
    const attachment = {
      type: {
        usageType: "http://id.tincanapi.com/attachment/certificate-of-completion",
        display: { "en-US": "Certificate" },
        contentType: "text/plain",
      },
      value: new TextEncoder().encode(content).buffer,
    };
    const sent = await ok((done) => wrapper.sendStatement(local(statement), done, [attachment]));
    const id = sent.body.id;
    const got = await byId(id);
    // With attachments=true the answer is multipart/mixed: the wrapper cannot
    // parse it as JSON and hands over the text.
    const withParts = await ok((done) => wrapper.getStatements(
      { statementId: id, attachments: true }, null, done));
    return {
      id,
      content,
      sendStatus: sent.status,
      attachments: got.body.attachments,
      partsType: withParts.type,
      parts: withParts.body,
    };
  },

  async about() {
    // The wrapper has no About call: its constructor, asked to verify the
    // version, GETs /about and logs whether the wrapper's version is listed.
    // A new page runs it with the log on; ADL.XHR_request is watched (and
    // still called) to know when the answer is in.
    const browser = page();
    browser.ADL.XAPIWrapper.log.debug = true;
    const request = browser.ADL.XHR_request;
    const answered = new Promise((resolve) => {
      browser.ADL.XHR_request = function watched(...args) {
        const callback = args[5];
        args[5] = (xhr) => {
          callback(xhr);
          resolve({ status: xhr.status, body: JSON.parse(xhr.responseText) });
        };
        return request.apply(this, args);
      };
    });
    const Wrapper = browser.ADL.XAPIWrapper.constructor;
    new Wrapper({ endpoint: env.endpoint, user: env.key, password: env.secret }, true);
    const about = await answered;
    browser.ADL.XHR_request = request;
    const read = await ok((done) => wrapper.getStatements({ limit: 1 }, null, done));
    const stranger = page(env.key, "wrong").wrapper;
    return {
      shipped: Wrapper.prototype.xapiVersion,
      sent: wrapper.xapiVersion,
      about,
      logged: browser.logged.filter((line) => line.includes("version")),
      answered: read.version,
      testConfig: wrapper.testConfig(),
      unconfigured: new Wrapper({ endpoint: "" }).testConfig(),
      wrongSecret: (await call((done) => stranger.getStatements({ limit: 1 }, null, done))).status,
    };
  },

  async synchronous() {
    // Without a callback every call blocks (a synchronous XMLHttpRequest),
    // as the README's first examples use it.
    const actor = learner();
    const object = { id: courseId() };
    const sent = wrapper.sendStatement({ actor, verb: verb(COMPLETED), object });
    const got = wrapper.getStatements({ statementId: sent.id });
    const missing = wrapper.getStatements({ statementId: uuid() });
    wrapper.sendState(object.id, actor, "bookmark", null, local({ page: 3 }));
    return {
      id: sent.id,
      objectId: object.id,
      sendStatus: sent.xhr.status,
      got: got && { id: got.id, object: got.object.id },
      missing,
      state: wrapper.getState(object.id, actor, "bookmark"),
      noState: wrapper.getState(object.id, actor, "never-saved"),
    };
  },
};

await main(scenarios);
