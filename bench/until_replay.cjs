// A replay of ADL's 1.0.3 XAPI-00162 `until` test (H.Communication2.1-StatementResource.js)
// with the HTTP client that suite uses (super-request), N times over, printing how often
// it passed. Written after the suite's steps, not copied from it:
//
//   1. the time margin, as the suite's newer helper.setTimeMargin takes it: the client's
//      clock before a POST, less that statement's `stored` (done three times; the suite's
//      root hooks set it twice, and the last one counts);
//   2. POST a statement, then a statement voiding it; `until` is the client's clock when
//      the voiding POST's answer came, plus the margin;
//   3. GET statements?verb=.../voided&until=...: the test passes if the voiding
//      statement is among them.
//
// Run (Node.js 18+; the one dependency into a scratch folder):
//   npm install --prefix /tmp/until-replay super-request@1
//   NODE_PATH=/tmp/until-replay/node_modules LRS_ENDPOINT=http://127.0.0.1:8000/xapi \
//     LRS_KEY=... LRS_SECRET=... node bench/until_replay.cjs 40
// Prints {"n", "passed", the median margin and the median time from `stored` to the
// client's reading of its clock after the voiding POST, in ms}. With `N --as-the-suite`
// a process takes the margin as it starts (cold, as the suite does), sends N other
// requests, then runs the test once: run it in a loop of new processes.
const request = require('super-request');
const { randomUUID } = require('crypto');

const endpoint = process.env.LRS_ENDPOINT;
const authorization = 'Basic ' + Buffer.from(`${process.env.LRS_KEY}:${process.env.LRS_SECRET}`)
  .toString('base64');
const headers = () => ({ 'X-Experience-API-Version': '1.0.3', Authorization: authorization });
const VOIDED = 'http://adlnet.gov/expapi/verbs/voided';

const statement = (id, verb, object) => ({
  id, actor: { objectType: 'Agent', mbox: 'mailto:until-replay@example.com' },
  verb: { id: verb, display: { 'en-US': 'replayed' } }, object,
});
const post = (body) => new Promise((resolve, reject) => request(endpoint).post('/statements')
  .headers(headers()).json(body).expect(200).end((e, r) => (e ? reject(e) : resolve(r))));
const get = (query) => new Promise((resolve, reject) => request(endpoint)
  .get('/statements?' + query).headers(headers()).expect(200)
  .end((e, r) => (e ? reject(e) : resolve(r))));
const storedOf = async (id) => new Date(JSON.parse((await get('statementId=' + id)).body).stored);

async function margin() {
  const id = randomUUID();
  const suiteTime = new Date();
  await post(statement(id, 'http://adlnet.gov/expapi/verbs/experienced',
                       { id: 'http://example.com/until-replay' }));
  return suiteTime - await storedOf(id);
}

async function once(allowance) {
  const verb = 'http://adlnet.gov/expapi/test/voided/target/' + randomUUID();
  const voided = randomUUID();
  const voiding = randomUUID();
  await post(statement(voided, verb, { id: 'http://example.com/until-replay' }));
  await post(statement(voiding, VOIDED, { objectType: 'StatementRef', id: voided }));
  const answered = Date.now();
  const until = new Date(answered + allowance).toISOString();
  const found = await get(`verb=${encodeURIComponent(VOIDED)}&until=${until}`);
  return { passed: found.body.includes(voiding), afterStored: answered - await storedOf(voiding) };
}

(async () => {
  const n = Number(process.argv[2]) || 20;
  const rows = [];
  if (process.argv[3] === '--as-the-suite') {
    // As in a run of the suite: the margin taken as the process starts (its
    // two root hooks, the second counting), the test after the others.
    await margin();
    const allowance = await margin();
    for (let i = 0; i < n; i += 1) {
      await get('limit=1');
    }
    rows.push({ allowance, ...(await once(allowance)) });
  } else {
    for (let i = 0; i < n; i += 1) {
      await margin();
      await margin();
      const allowance = await margin();
      rows.push({ allowance, ...(await once(allowance)) });
    }
  }
  const median = (values) => values.slice().sort((a, b) => a - b)[values.length >> 1];
  console.log(JSON.stringify({
    n: rows.length, passed: rows.filter((r) => r.passed).length,
    margin_median_ms: median(rows.map((r) => r.allowance)),
    stored_to_answer_median_ms: median(rows.map((r) => r.afterStored)),
  }));
})().catch((e) => { console.error(e); process.exit(1); });
