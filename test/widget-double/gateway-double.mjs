// A stand-in for the gateway's widget API, served by the browser tests' dev server so each
// widget test controls the answer and its timing. The real gateway is covered end to end in
// test/e2e/e2e-demo.test.ts. Answers by NHS number; the token "receptionist" is refused, and with
// "spine-down" every answer is COULD_NOT_CONNECT_TO_SPINE. Spine's timestamp (`checkedAt`) is the
// time of the request unless a test sets it (`/__double/spine-time?at=&age=`: the gateway's `Date`
// header is then `age` ms after it, 0 unless said); a test may also set the answer itself
// (`POST /__double/answer`, a header null to send none; `null` to go back to the answers below),
// to send what the element must refuse, or (`cut`) a body that never arrives whole.

/** Stands for Spine's timestamp in the answers below; replaced in each answer sent. */
const STAMP = 'Spine timestamp';
const answers = {
  9990000018: [
    200,
    {
      status: 'indicator',
      nhsNumber: '9990000018',
      assessmentDate: '2019-12-10',
      checkedAt: STAMP,
      messageId: 'msg-18',
      code: 'SUCCESS',
      smspCode: 'SMSP-0000',
      display: 'Success',
    },
  ],
  9990000042: [
    200,
    {
      status: 'indicator',
      nhsNumber: '9990000042',
      assessmentDate: '2024-06-30',
      checkedAt: STAMP,
      messageId: 'msg-42',
      code: 'SUCCESS',
      smspCode: 'SMSP-0000',
      display: 'Success',
    },
  ],
  9990000026: [
    404,
    {
      status: 'no-record',
      nhsNumber: '9990000026',
      assessmentDate: null,
      checkedAt: STAMP,
      messageId: 'msg-26',
      code: 'NO_RECORD_FOUND',
      smspCode: 'FGM-0001',
      display: 'No Record Found',
    },
  ],
  9990000050: [
    500,
    {
      status: 'error',
      nhsNumber: '9990000050',
      assessmentDate: null,
      checkedAt: null,
      // The gateway's message ids are UUIDs, and the element checks an error answer's (review 18f F10).
      messageId: '00000000-0000-4000-8000-000000000050',
      code: 'COULD_NOT_CONNECT_TO_SPINE',
      smspCode: 'SMSP-0004',
      display: 'Could not connect to Spine',
    },
  ],
  9990000077: [
    400,
    {
      status: 'error',
      nhsNumber: '9990000077',
      assessmentDate: null,
      checkedAt: null,
      // The gateway's message ids are UUIDs, and the element checks an error answer's (review 18f F10).
      messageId: '00000000-0000-4000-8000-000000000077',
      code: 'RESPONSE_MESSAGE_VALIDATION_ERROR',
      smspCode: 'SMSP-0002',
      display: 'Response message validation error',
    },
  ],
  // Answers an indicator for ANOTHER patient: the element must not show it.
  9990000107: [
    200,
    {
      status: 'indicator',
      nhsNumber: '9990000018',
      assessmentDate: '2019-12-10',
      checkedAt: STAMP,
      messageId: 'msg-107',
      code: 'SUCCESS',
      smspCode: 'SMSP-0000',
      display: 'Success',
    },
  ],
};
const HELD = '9990000069'; // held until the test releases it
const REFUSED = [
  403,
  {
    status: 'error',
    nhsNumber: null,
    assessmentDate: null,
    checkedAt: null,
    messageId: null,
    code: 'ACCESS_DENIED',
    smspCode: 'SMSP-LOCAL-0403',
    display: 'No B0370',
  },
];

let requests = [];
let held;
/** Spine's timestamp for the answers, ISO; undefined: the time of each request. */
let spineTime;
/** The gateway's clock less spineTime, ms: the answers' Date header. */
let gatewayAge = 0;
/** `{status, body, headers?}`: every answer until reset. */
let fixed;

const readBody = (req) =>
  new Promise((resolve) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => resolve(data));
  });

const CSP_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>CSP</title>
<script type="module" src="/test/widget-double/csp-page.ts"></script></head><body></body></html>`;

/** Koa middleware for the test runner's dev server (config `middleware`). */
export function gatewayDouble() {
  return async function gatewayDouble(ctx, next) {
    if (ctx.path === '/api/fgm-status' && ctx.method === 'POST') {
      const body = JSON.parse(await readBody(ctx.req));
      requests.push({
        ...body,
        authorization: ctx.get('authorization'),
        ...(ctx.get('nhsd-session-urid') && { urid: ctx.get('nhsd-session-urid') }),
      });
      // The gateway's clock, when the test set Spine's: Node writes the real one otherwise.
      if (spineTime) ctx.set('Date', new Date(Date.parse(spineTime) + gatewayAge).toUTCString());
      if (fixed?.cut) {
        // The headers and the body's first bytes, then the connection dropped once they are on the
        // wire ('drop'), or nothing more until the browser gives up on it ('stall').
        ctx.respond = false;
        ctx.res.writeHead(fixed.status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        ctx.res.write(
          JSON.stringify(fixed.body).slice(0, 20),
          () => fixed?.cut === 'drop' && ctx.res.socket?.destroy(),
        );
        return;
      }
      if (fixed) {
        // As JSON whatever it is (a string or null too), with the test's headers.
        for (const [k, v] of Object.entries(fixed.headers ?? {})) {
          if (v !== null) ctx.set(k, v);
          else if (k.toLowerCase() === 'date') {
            ctx.remove('Date');
            ctx.res.sendDate = false;
          }
        }
        ctx.status = fixed.status;
        ctx.set('Cache-Control', 'no-store');
        ctx.type = 'application/json';
        ctx.body = JSON.stringify(fixed.body);
        return;
      }
      if (ctx.get('authorization') === 'Bearer receptionist') return send(ctx, REFUSED);
      // Spine cannot be reached, for whichever patient: the gateway's COULD_NOT_CONNECT answer.
      if (ctx.get('authorization') === 'Bearer spine-down')
        return send(ctx, [500, { ...answers['9990000050'][1], nhsNumber: body.nhsNumber }]);
      if (body.nhsNumber === HELD) {
        const aborted = new Promise((resolve) => ctx.req.socket.once('close', () => resolve(true)));
        await new Promise((release) => (held = { release, aborted }));
        return send(
          ctx,
          answers['9990000018'].map((v, i) => (i ? { ...v, nhsNumber: HELD } : v)),
        );
      }
      return send(ctx, answers[body.nhsNumber] ?? answers['9990000026']);
    }
    if (ctx.path === '/__double/requests') return json(ctx, requests);
    if (ctx.path === '/__double/reset') {
      requests = [];
      spineTime = fixed = undefined;
      gatewayAge = 0;
      return json(ctx, {});
    }
    if (ctx.path === '/__double/spine-time') {
      spineTime = ctx.query.at;
      gatewayAge = Number(ctx.query.age ?? 0);
      return json(ctx, { spineTime });
    }
    if (ctx.path === '/__double/answer' && ctx.method === 'POST') {
      fixed = JSON.parse(await readBody(ctx.req));
      return json(ctx, {});
    }
    if (ctx.path === '/__double/held') return json(ctx, { held: !!held });
    if (ctx.path === '/__double/release') {
      const h = held;
      held = undefined;
      if (!h) return json(ctx, { released: false });
      // Report whether the browser had already closed the request (the element aborted it).
      const aborted = await Promise.race([h.aborted, new Promise((r) => setImmediate(() => r(false)))]);
      h.release();
      return json(ctx, { released: true, aborted });
    }
    if (ctx.path === '/__double/csp.html') {
      // ?trusted-types: the page also enforces Trusted Types and allows no policy, as a strict EPR may.
      ctx.set(
        'Content-Security-Policy',
        `default-src 'self'${'trusted-types' in ctx.query ? "; require-trusted-types-for 'script'; trusted-types 'none'" : ''}`,
      );
      ctx.type = 'text/html';
      ctx.body = CSP_PAGE;
      return;
    }
    return next();
  };
}

function send(ctx, [status, body]) {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = body.checkedAt === STAMP ? { ...body, checkedAt: spineTime ?? new Date().toISOString() } : body;
}
function json(ctx, body) {
  ctx.body = body;
}
