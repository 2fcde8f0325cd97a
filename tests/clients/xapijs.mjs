// xAPI.js (@xapi/xapi) against the LRS: `node xapijs.mjs SCENARIO`.
// LRS_VERSION picks the X-Experience-API-Version the library sends (it only
// sets the header; its typings list 1.0.x, but 2.0.0 is passed through).

import { createHash } from "node:crypto";
import XAPI from "@xapi/xapi";
import {
  ATTEMPTED, COMPLETED, courseId, describedCourse, env, learner, main, uuid,
} from "./common.mjs";

const connect = (key = env.key, secret = env.secret, adapter = undefined) =>
  new XAPI({ endpoint: env.endpoint, auth: XAPI.toBasicAuth(key, secret), version: env.version, adapter });

const xapi = connect();

// The HTTP status of a call, whether it succeeded or not.
async function status(promise) {
  try {
    return (await promise).status;
  } catch (error) {
    if (error.response) {
      return error.response.status;
    }
    throw error;
  }
}

// Every statement of a query, following `more`: ids page by page.
async function pages(params, lrs = xapi) {
  let response = await lrs.getStatements(params);
  const out = [response.data.statements];
  while (response.data.more) {
    response = await lrs.getMoreStatements({ more: response.data.more });
    out.push(response.data.statements);
  }
  return out;
}

const attempted = { id: ATTEMPTED, display: { "en-US": "attempted" } };
const triple = (s) => [s.actor.mbox, s.verb.id, s.object.id];
const activity = (id, name) => ({
  objectType: "Activity",
  id,
  definition: { name: { "en-US": name }, type: "http://adlnet.gov/expapi/activities/course" },
});

const scenarios = {
  async statements() {
    const actor = learner("ana");
    const object = activity(courseId(), "Induction");
    const statement = {
      actor,
      verb: XAPI.Verbs.COMPLETED,
      object,
      result: { score: { scaled: 0.9, raw: 9, min: 0, max: 10 }, success: true, completion: true },
    };
    const [id] = (await xapi.sendStatement({ statement })).data;
    const got = (await xapi.getStatement({ statementId: id })).data;

    const ownId = uuid();
    const own = (await xapi.sendStatement({ statement: { ...statement, id: ownId } })).data;

    const batch = [0, 1, 2].map((i) => ({
      actor,
      verb: attempted,
      object: activity(`${object.id}/module-${i}`, `Module ${i}`),
    }));
    const ids = (await xapi.sendStatements({ statements: batch })).data;
    const readBack = [];
    for (const statementId of ids) {
      readBack.push((await xapi.getStatement({ statementId })).data.object.id);
    }
    return { actor, object, id, got, ownId, own, batch: batch.map((s) => s.object.id), ids, readBack };
  },

  async query() {
    const ana = learner("ana");
    const ben = learner("ben");
    const first = courseId("first");
    const second = courseId("second");
    const made = [
      { actor: ana, verb: XAPI.Verbs.COMPLETED, object: { id: first } },
      { actor: ana, verb: attempted, object: { id: second } },
      { actor: ben, verb: XAPI.Verbs.COMPLETED, object: { id: second } },
    ];
    await xapi.sendStatements({ statements: made });
    const found = async (params) => (await pages(params)).flat().map(triple);
    return {
      made: made.map(triple),
      byAgent: await found({ agent: { mbox: ana.mbox } }),
      byVerbAndRelated: await found({ verb: COMPLETED, agent: { mbox: ben.mbox } }),
      byVerb: await found({ verb: ATTEMPTED, activity: second }),
      byActivity: await found({ activity: second }),
      byNothingMatching: await found({ agent: { mbox: ben.mbox }, activity: first }),
      ascending: await found({ agent: { mbox: ana.mbox }, ascending: true }),
    };
  },

  async paging() {
    const registration = uuid();
    const actor = learner();
    const object = { id: courseId() };
    const made = Array.from({ length: 25 }, () => ({
      actor,
      verb: XAPI.Verbs.PROGRESSED,
      object,
      context: { registration },
    }));
    const ids = (await xapi.sendStatements({ statements: made })).data;
    await xapi.sendStatement({ statement: { actor, verb: XAPI.Verbs.COMPLETED, object } });
    const found = await pages({ registration, limit: 10 });
    return {
      ids,
      pages: found.map((page) => page.map((s) => s.id)),
      registrations: [...new Set(found.flat().map((s) => s.context.registration))],
    };
  },

  async voiding() {
    const actor = learner();
    const object = { id: courseId() };
    const [target] = (await xapi.sendStatement({ statement: { actor, verb: XAPI.Verbs.COMPLETED, object } })).data;
    const [voiding] = (await xapi.voidStatement({ actor, statementId: target })).data;
    const voided = (await xapi.getVoidedStatement({ voidedStatementId: target })).data;
    return {
      target,
      voiding,
      getStatus: await status(xapi.getStatement({ statementId: target })),
      voided: { id: voided.id, object: voided.object.id },
      listed: (await pages({ agent: { mbox: actor.mbox } })).flat().map((s) => [s.id, s.verb.id, s.object.id]),
    };
  },

  async state() {
    const agent = learner();
    const activityId = courseId();
    const base = { agent, activityId };
    const progress = { page: 7, bookmark: "chapter-2", answers: [1, 2, 3] };
    await xapi.setState({ ...base, stateId: "progress", state: progress });
    await xapi.setState({ ...base, stateId: "note", state: "resume at chapter 2", contentType: "text/plain" });
    const got = await xapi.getState({ ...base, stateId: "progress" });
    const note = await xapi.getState({ ...base, stateId: "note" });
    // POST merges JSON objects (1.0.3 Communication 2.2, JSON Procedure with Requirements).
    await xapi.createState({ ...base, stateId: "progress", state: { page: 8, done: false } });
    const merged = await xapi.getState({ ...base, stateId: "progress" });
    const etag = merged.headers.etag;
    const staleStatus = await status(xapi.setState({
      ...base, stateId: "progress", state: { page: 1 }, etag: '"stale"', matchHeader: "If-Match",
    }));
    const freshStatus = await status(xapi.setState({
      ...base, stateId: "progress", state: { page: 9 }, etag, matchHeader: "If-Match",
    }));
    const afterFresh = (await xapi.getState({ ...base, stateId: "progress" })).data;

    const registration = uuid();
    await xapi.setState({ ...base, registration, stateId: "scoped", state: { attempt: 1 } });
    const scopedIds = (await xapi.getStates({ ...base, registration })).data;
    const unscopedRead = await status(xapi.getState({ ...base, stateId: "scoped" }));
    const ids = (await xapi.getStates(base)).data;

    await xapi.deleteState({ ...base, stateId: "note" });
    const noteGone = await status(xapi.getState({ ...base, stateId: "note" }));
    await xapi.deleteStates(base);
    const left = (await xapi.getStates(base)).data;
    const scopedLeft = (await xapi.getStates({ ...base, registration })).data;
    return {
      progress, got: got.data, gotType: got.headers["content-type"], etag: got.headers.etag,
      note: note.data, noteType: note.headers["content-type"], merged: merged.data,
      staleStatus, freshStatus, afterFresh, scopedIds, unscopedRead, ids, noteGone, left, scopedLeft,
    };
  },

  async activityProfile() {
    const activityId = courseId();
    const base = { activityId, profileId: "settings" };
    const createStatus = await status(xapi.createActivityProfile({ ...base, profile: { theme: "dark" } }));
    const first = await xapi.getActivityProfile(base);
    const etag = first.headers.etag;
    const ifNoneMatch = await status(xapi.setActivityProfile({
      ...base, profile: { theme: "x" }, etag: "*", matchHeader: "If-None-Match",
    }));
    const stale = await status(xapi.setActivityProfile({
      ...base, profile: { theme: "x" }, etag: '"stale"', matchHeader: "If-Match",
    }));
    const fresh = await status(xapi.setActivityProfile({
      ...base, profile: { theme: "light" }, etag, matchHeader: "If-Match",
    }));
    const second = await xapi.getActivityProfile(base);
    const mergeStatus = await status(xapi.createActivityProfile({
      ...base, profile: { font: "large" }, etag: second.headers.etag, matchHeader: "If-Match",
    }));
    const merged = await xapi.getActivityProfile(base);
    const ids = (await xapi.getActivityProfiles({ activityId })).data;
    const staleDelete = await status(xapi.deleteActivityProfile({ ...base, etag }));
    const deleteStatus = await status(xapi.deleteActivityProfile({ ...base, etag: merged.headers.etag }));
    const afterDelete = await status(xapi.getActivityProfile(base));
    return {
      createStatus, first: first.data, etag, ifNoneMatch, stale, fresh, second: second.data,
      secondEtag: second.headers.etag, mergeStatus, merged: merged.data, ids, staleDelete,
      deleteStatus, afterDelete,
    };
  },

  async agentProfile() {
    const agent = learner();
    const base = { agent, profileId: "preferences" };
    const createStatus = await status(xapi.setAgentProfile({
      ...base, profile: "large-print", contentType: "text/plain", etag: "*", matchHeader: "If-None-Match",
    }));
    const first = await xapi.getAgentProfile(base);
    const again = await status(xapi.setAgentProfile({
      ...base, profile: "audio", contentType: "text/plain", etag: "*", matchHeader: "If-None-Match",
    }));
    const stale = await status(xapi.setAgentProfile({
      ...base, profile: "audio", contentType: "text/plain", etag: '"stale"', matchHeader: "If-Match",
    }));
    const fresh = await status(xapi.setAgentProfile({
      ...base, profile: "audio", contentType: "text/plain", etag: first.headers.etag, matchHeader: "If-Match",
    }));
    const second = await xapi.getAgentProfile(base);
    const ids = (await xapi.getAgentProfiles({ agent })).data;
    const deleteStatus = await status(xapi.deleteAgentProfile(base));
    const afterDelete = await status(xapi.getAgentProfile(base));
    return {
      createStatus, first: first.data, firstType: first.headers["content-type"], again, stale,
      fresh, second: second.data, ids, deleteStatus, afterDelete,
    };
  },

  async resources() {
    const actor = learner("ana");
    const object = describedCourse();
    await xapi.sendStatement({ statement: { actor, verb: XAPI.Verbs.COMPLETED, object } });
    const unknownId = courseId("never-used");
    return {
      actor,
      object,
      activity: (await xapi.getActivity({ activityId: object.id })).data,
      unknown: (await xapi.getActivity({ activityId: unknownId })).data,
      unknownId,
      person: (await xapi.getAgent({ agent: { mbox: actor.mbox } })).data,
    };
  },

  async attachments() {
    const content = "certificate of completion for Ana";
    const bytes = new TextEncoder().encode(content);
    const sha2 = createHash("sha256").update(bytes).digest("hex");
    const statement = {
      actor: learner("ana"),
      verb: XAPI.Verbs.COMPLETED,
      object: { id: courseId() },
      attachments: [{
        usageType: XAPI.AttachmentUsages.CERTIFICATE_OF_COMPLETION,
        display: { "en-US": "Certificate" },
        contentType: "text/plain",
        length: bytes.length,
        sha2,
      }],
    };
    // Its default axios adapter, in Node, sends the multipart body (a Blob)
    // as application/octet-stream; its fetch adapter keeps the multipart type.
    const viaFetch = connect(env.key, env.secret, "fetch");
    const [id] = (await viaFetch.sendStatement({ statement, attachments: [bytes.buffer] })).data;
    const parts = (await viaFetch.getStatement({ statementId: id, attachments: true })).data;
    return { id, sha2, content, parts };
  },

  async about() {
    const response = await xapi.getAbout();
    return {
      about: response.data,
      answered: response.headers["x-experience-api-version"],
      // Browser content turns this on against caching proxies: it adds a
      // `cachebuster` query parameter, which xAPI does not define.
      cacheBustedStatements: await status(xapi.getStatements({ limit: 1, useCacheBuster: true })),
    };
  },

  async tenants() {
    const other = connect(env.otherKey, env.otherSecret);
    const actor = learner();
    const activityId = courseId();
    const [id] = (await xapi.sendStatement({ statement: { actor, verb: XAPI.Verbs.COMPLETED, object: { id: activityId } } })).data;
    await xapi.setState({ agent: actor, activityId, stateId: "s", state: { mine: true } });
    return {
      id,
      mine: (await pages({ agent: { mbox: actor.mbox } })).flat().map((s) => s.id),
      theirsGet: await status(other.getStatement({ statementId: id })),
      theirs: (await pages({ agent: { mbox: actor.mbox } }, other)).flat().map((s) => s.id),
      theirState: await status(other.getState({ agent: actor, activityId, stateId: "s" })),
      theirStates: (await other.getStates({ agent: actor, activityId })).data,
      wrongSecret: await status(connect(env.key, "wrong").getStatements({ limit: 1 })),
    };
  },
};

await main(scenarios);
