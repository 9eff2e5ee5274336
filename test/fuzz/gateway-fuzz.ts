/**
 * @module test/fuzz/gateway-fuzz
 * Property-based fuzzing of the gateway over a real socket: generated JSON bodies, FHIR XML
 * bodies and headers — valid-looking, mutated, huge, deeply nested, entity-laden, non-UTF-8 —
 * and one property for every answer: it comes within the deadline, its status is one the
 * gateway documents, a 5xx is only ever "could not connect to Spine", the body is a vocabulary
 * answer in the interface's format, and API answers are never cached.
 */
import fc from 'fast-check';
import { request, Agent } from 'node:http';
import { buildQueryBundle } from '../../gateway/fhir/query-bundle.ts';
import { fhirAnswerCode, fhirAnswerViolations } from '../helpers/fhir-answer.ts';
import { CIS2_GP, LOCAL_MIDWIFE, TEST_ORIGIN, type TestStack } from '../helpers/stack.ts';

export interface FuzzInput {
  path: '/api/fgm-status' | '/fhir/fgm/query';
  headers: Record<string, string>;
  body: Buffer;
}

const NHS = ['9990000018', '9990000026', '9990000034', '9990000042', '9990000019', '0000000000'];
const utf8 = (s: string) => Buffer.from(s, 'utf8');

export function arbitraries(stack: TestStack) {
  const tokens = fc.oneof(
    fc.constant(stack.signToken(LOCAL_MIDWIFE)),
    fc.constant(stack.signToken(CIS2_GP, { client: 'cis2' })),
    fc.constant(stack.signToken({ sub: 'chs' }, { client: 'system' })),
    fc.constant(stack.signToken(LOCAL_MIDWIFE, { alg: 'none' })),
    fc.constant(stack.signToken(LOCAL_MIDWIFE, { alg: 'HS256' })),
    // correctly signed, claims mutated
    fc
      .dictionary(
        fc.constantFrom('sub', 'roles', 'org', 'exp', 'iat', 'nbf', 'aud', 'iss', 'nhsid_nrbac_roles'),
        fc.jsonValue(),
        { maxKeys: 4 },
      )
      .map((claims) => stack.signToken({ ...LOCAL_MIDWIFE, ...claims })),
    fc.string({ maxLength: 200 }),
    fc.constant('x'.repeat(20_000)),
  );
  const headers = fc
    .record(
      {
        // Mostly well-signed tokens, so most inputs get past authentication to the deeper checks.
        authorization: fc.oneof(
          {
            arbitrary: fc
              .constantFrom(stack.signToken(LOCAL_MIDWIFE), stack.signToken(CIS2_GP, { client: 'cis2' }))
              .map((t) => `Bearer ${t}`),
            weight: 6,
          },
          { arbitrary: tokens.map((t) => `Bearer ${t}`), weight: 3 },
          { arbitrary: fc.string({ maxLength: 100 }), weight: 1 },
        ),
        'content-type': fc.constantFrom(
          'application/json',
          'application/fhir+xml',
          'text/plain',
          'application/json; charset=utf-16',
          'multipart/form-data; boundary=x',
          '',
        ),
        origin: fc.oneof(
          { arbitrary: fc.constant(TEST_ORIGIN), weight: 4 },
          { arbitrary: fc.webUrl(), weight: 1 },
          { arbitrary: fc.constant('null'), weight: 1 },
        ),
        'x-request-id': fc.constant('9990000018'),
      },
      { requiredKeys: ['authorization'] },
    )
    .map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== '')) as Record<string, string>);

  const json = fc.oneof(
    fc
      .record(
        {
          nhsNumber: fc.oneof(
            fc.constantFrom(...NHS),
            fc.stringMatching(/^\d{10}$/),
            fc.string({ maxLength: 30 }),
            fc.integer() as fc.Arbitrary<unknown>,
          ),
          birthDate: fc.oneof(
            fc.constant(undefined),
            fc.constantFrom('2014-03-02', '2001-01-15', '2099-01-01', '2014-02-30', ''),
            fc.string({ maxLength: 12 }),
          ),
        },
        { requiredKeys: [] },
      )
      .map((o) => utf8(JSON.stringify(o))),
    fc.jsonValue().map((v) => utf8(JSON.stringify(v))),
    fc.integer({ min: 1, max: 20_000 }).map((d) => utf8('['.repeat(d) + ']'.repeat(d))),
    fc.integer({ min: 1, max: 5_000 }).map((d) => utf8('{"a":'.repeat(d) + '1' + '}'.repeat(d))),
    fc.integer({ min: 60_000, max: 80_000 }).map((n) => utf8(JSON.stringify({ nhsNumber: '9'.repeat(n) }))),
    fc.constant(utf8('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"nhsNumber":"9990000018"}')),
    fc.string({ maxLength: 300 }).map(utf8),
    fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b)),
  );

  const valid = buildQueryBundle({
    nhsNumber: '9990000018',
    sourceAsid: '300000000333',
    destinationAsid: '200000000111',
    author: { kind: 'local', localId: 'chs-user' },
    organization: { odsCode: 'RY2', name: 'Test CHS' },
  }).xml;
  const xml = fc.oneof(
    fc.constant(utf8(valid)),
    fc.tuple(fc.nat(valid.length), fc.nat(200)).map(([at, n]) => utf8(valid.slice(0, at) + valid.slice(at + n))),
    fc
      .tuple(
        fc.nat(valid.length),
        fc.constantFrom(
          '&lol;',
          '&amp;',
          '&#0;',
          '<![CDATA[x]]>',
          '<!-- c -->',
          '<?pi x?>',
          '<x:y xmlns:x="urn:x"/>',
          '"',
          '<',
          '\u0000',
          '\uFFFE',
          '<Bundle>',
        ),
      )
      .map(([at, s]) => utf8(valid.slice(0, at) + s + valid.slice(at))),
    fc.constant(
      utf8(
        `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>${valid.replace('RY2', '&lol2;')}`,
      ),
    ),
    fc.integer({ min: 1, max: 30_000 }).map((d) => utf8('<a>'.repeat(d) + '</a>'.repeat(d))),
    fc.integer({ min: 60_000, max: 80_000 }).map((n) => utf8(valid.replace('Test CHS', 'x'.repeat(n)))),
    fc.string({ maxLength: 300 }).map(utf8),
    fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b)),
    fc.constant(
      Buffer.concat([utf8(valid.slice(0, 200)), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), utf8(valid.slice(200))]),
    ),
  );

  return fc.oneof(
    fc.record({ path: fc.constant('/api/fgm-status' as const), headers, body: json }),
    fc.record({ path: fc.constant('/fhir/fgm/query' as const), headers, body: xml }),
  );
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 });
const DEADLINE_MS = 5000;

/** Sends one input; resolves with the answer, or rejects with why the property failed. */
export async function send(stack: TestStack, input: FuzzInput): Promise<{ status: number; code: string | undefined }> {
  try {
    return await sendOnce(stack, input);
  } catch (e) {
    // Node's documented keep-alive race: the server closed an idle socket just as the agent reused
    // it. That request never reached the gateway, so it is sent again, once.
    if ((e as { reusedSocket?: boolean }).reusedSocket) return sendOnce(stack, input);
    throw e;
  }
}

function sendOnce(stack: TestStack, input: FuzzInput): Promise<{ status: number; code: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(input.path, stack.gatewayUrl),
      {
        method: 'POST',
        agent,
        headers: { ...input.headers, 'content-length': input.body.length },
        signal: AbortSignal.timeout(DEADLINE_MS),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const body = Buffer.concat(chunks).toString('utf8');
          // Node's HTTP parser answers headers over 16 KB itself, before the app: a bare 431.
          if (status === 431 && body === '') return resolve({ status, code: 'HEADERS_TOO_LARGE (node)' });
          let code: string | undefined;
          if (input.path === '/api/fgm-status') {
            try {
              code = JSON.parse(body).code;
            } catch {
              return reject(new Error(`${status}: not a JSON answer: ${body.slice(0, 100)}`));
            }
          } else {
            const violations = fhirAnswerViolations(body);
            if (violations.length)
              return reject(new Error(`${status}: not a profile-valid FHIR answer: ${JSON.stringify(violations)}`));
            code = fhirAnswerCode(body);
          }
          if (![200, 400, 401, 403, 404, 413, 429, 500].includes(status))
            return reject(new Error(`undocumented status ${status} (${code})`));
          if (status >= 500 && code !== 'COULD_NOT_CONNECT_TO_SPINE')
            return reject(new Error(`unmapped 5xx: ${status} ${code}`));
          if (res.headers['cache-control'] !== 'no-store')
            return reject(new Error(`${status} without Cache-Control: no-store`));
          if (/at \w+ \(|node:internal|Error:/.test(body))
            return reject(new Error(`${status}: a stack trace in the body`));
          resolve({ status, code });
        });
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        Object.assign(new Error(`no answer: ${e.message}`), {
          reusedSocket: req.reusedSocket && e.code === 'ECONNRESET',
        }),
      ),
    );
    req.end(input.body);
  });
}

/** Runs `runs` generated inputs against `stack`; returns a histogram of status and code. */
export async function fuzzGateway(stack: TestStack, o: { runs: number; seed: number }): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  try {
    await fc.assert(
      fc.asyncProperty(arbitraries(stack), async (input) => {
        const { status, code } = await send(stack, input);
        const k = `${status} ${code}`;
        seen.set(k, (seen.get(k) ?? 0) + 1);
      }),
      { numRuns: o.runs, seed: o.seed, endOnFailure: true },
    );
  } catch (e) {
    // fast-check's report quotes the whole input, which can be megabytes.
    throw new Error(
      `${(e as Error).message.slice(0, 1500)} … cause: ${String(((e as Error).cause as string | undefined) ?? '').slice(0, 300)}`,
      { cause: e },
    );
  }
  return seen;
}
