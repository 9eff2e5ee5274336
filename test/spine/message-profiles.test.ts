/**
 * @module test/spine/message-profiles
 * Every message built from whatever a token or a client system says conforms to the FGM-IS
 * profile snapshots: the gateway's messages to Spine (checked here and by the simulator, as Spine
 * would), with the headers of the spec's example request; and nothing from a refused FHIR request
 * reaches the log.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { identityFromCis2, identityFromClaims } from '../../gateway/auth/identity.ts';
import { Cis2Refused, parseUserInfo } from '../../gateway/auth/cis2-userinfo.ts';
import type { ClientConfig } from '../../gateway/config/config.ts';
import { validateMessage } from '../../gateway/fhir/profile-validator.ts';
import { buildQueryBundle } from '../../gateway/fhir/query-bundle.ts';
import { loadVocabulary } from '../../gateway/fhir/vocabulary.ts';
import { askSpine } from '../../gateway/spine/ask-spine.ts';
import type { ProtectedSpine } from '../../gateway/spine/protected-spine.ts';
import { CIS2_PEOPLE } from '../../demo/cis2/users.ts';
import {
  GATEWAY_ASID,
  LOCAL_MIDWIFE,
  SPINE_ASID,
  startTestStack,
  validNhsNumbersIn,
  type TestStack,
} from '../helpers/stack.ts';

// Identity shapes: the two claim profiles, with every claim an arbitrary (often hostile) string.
const odd = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0001',
    '\u0001 ',
    '\ufffe',
    '\ud800',
    'Zoë Ødegård-O’Neil',
    '山田 太郎',
    '"/><x>&amp;',
    '9990000018',
    'a'.repeat(300),
  ),
);
const localClaims = fc.record(
  { sub: odd, name: odd, roles: fc.constant(['midwife']), org: odd },
  { requiredKeys: ['sub', 'roles'] },
);
const cis2Claims = fc.record(
  {
    sub: odd,
    name: odd,
    // Hostile values, and well-formed ones (UserInfo's parser refuses most hostile ids outright).
    nhsid_useruid: fc.oneof(odd, fc.stringMatching(/^\d{12}$/)),
    selected_roleid: fc.constant('555021936108'),
    nhsid_nrbac_roles: fc
      .tuple(fc.oneof(odd, fc.stringMatching(/^[A-Z0-9]{3,10}$/)))
      .map(([org]) => [{ person_roleid: '555021936108', org_code: org, activity_codes: ['B0370'] }]),
  },
  { requiredKeys: ['nhsid_useruid', 'selected_roleid', 'nhsid_nrbac_roles'] },
);

const LOCAL_CLIENT = {
  id: 'p',
  name: 'Test Trust',
  odsCode: 'RX1',
  claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
  roleActivities: { midwife: ['B0370'] },
} as unknown as ClientConfig;
const CIS2_CLIENT = {
  id: 'c',
  name: 'Test Trust',
  odsCode: 'RX1',
  claims: 'cis2',
  roleActivities: {},
} as unknown as ClientConfig;
/** The identity a CIS2 UserInfo answer with these (hostile) values makes, or null where the UserInfo parser refuses it as nonsense. */
const cis2Identity = (answer: unknown) => {
  try {
    return identityFromCis2(parseUserInfo(answer), undefined);
  } catch (e) {
    if (e instanceof Cis2Refused) return null;
    throw e;
  }
};
// What XML cannot carry (the builder drops it): a value made only of that, or of spaces, cannot be sent.
const NOT_XML =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const unsendable = (v: string) => v.replace(NOT_XML, '').trim() === '';

describe('messages built from arbitrary token claims', () => {
  it('SMSP-FGMRI-005/006 every message the gateway would send Spine conforms; one that cannot is never sent', async () => {
    const vocabulary = loadVocabulary();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          localClaims.map((c) => [LOCAL_CLIENT, c] as const),
          cis2Claims.map((c) => [CIS2_CLIENT, c] as const),
        ),
        async ([client, claims]) => {
          let identity;
          try {
            identity = client === CIS2_CLIENT ? cis2Identity(claims) : identityFromClaims(client, claims);
          } catch (e) {
            // A claim holding nothing a Spine message can carry, or longer than any identifier (255
            // characters), is refused as the token's identity (401 AUTHOR_CREDENTIALS_ERROR): never
            // sent, and only for such a claim.
            assert.equal((e as { event?: string }).event, 'token-has-no-identity', String(e));
            const value = String((e as { value?: unknown }).value);
            assert.ok(unsendable(value) || value.length > 255, JSON.stringify(claims));
            return;
          }
          if (!identity) return;
          const sent: string[] = [];
          const spine: ProtectedSpine = {
            query: async (xml) => (
              sent.push(xml),
              { kind: 'failure', code: 'COULD_NOT_CONNECT_TO_SPINE', reason: 'test' }
            ),
          };
          const organization = { odsCode: identity.orgCode, name: client.name };
          const outcome = await askSpine(
            { spine, vocabulary, smspAsid: GATEWAY_ASID, spineAsid: SPINE_ASID, smspName: 'Test SMSP' },
            {
              nhsNumber: '9990000018',
              author: identity.author,
              organization,
              priority: 'interactive',
              clientId: client.id,
            },
          );
          const values =
            identity.author.kind === 'sds'
              ? [identity.author.userId, identity.author.roleProfileId, identity.orgCode]
              : [identity.author.localId, identity.orgCode];
          if (sent.length) {
            // The text that went out, parsed back: independent of the builder's own tree check.
            assert.deepEqual(validateMessage(sent[0]!), []);
            assert.doesNotMatch(sent[0]!, /<display|<name><text/);
          } else {
            assert.equal(outcome.code, 'GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE');
            assert.ok(values.some(unsendable), JSON.stringify(values));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('SMSP-VAL-004 a value XML cannot carry is not sent to Spine: GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE', async () => {
    let calls = 0;
    const spine: ProtectedSpine = {
      query: async () => (calls++, { kind: 'failure', code: 'COULD_NOT_CONNECT_TO_SPINE', reason: 'test' }),
    };
    const outcome = await askSpine(
      { spine, vocabulary: loadVocabulary(), smspAsid: GATEWAY_ASID, spineAsid: SPINE_ASID },
      {
        nhsNumber: '9990000018',
        author: { kind: 'local', localId: '\u0001 ' },
        organization: { odsCode: 'RX1', name: 'T' },
        priority: 'interactive',
        clientId: 'test-epr',
      },
    );
    assert.equal(calls, 0);
    assert.equal(outcome.code, 'GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE');
    assert.equal(
      outcome.reason,
      'outgoing message breaks the profiles: Practitioner.identifier[Local Identifier].value has an empty value',
    );
  });
});

describe('over real sockets: gateway, simulator (TLS-MA), profiles', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ tls: true });
  });
  after(async () => {
    await stack?.close();
  });

  it("FGMQuery_2_0 the gateway sends Spine the HTTP headers of the spec's example request (fgm-query-v2.md)", async () => {
    // The spec's example request (fgm-query-v2.md, "FGM Query Request") is the oracle.
    const spec = readFileSync(new URL('../spec/fgm-query-v2.md', import.meta.url), 'utf8');
    const example = /<pre>\s*POST \/fhir\/fgm\/query HTTP\/1.1([\s\S]*?)<\/pre>/.exec(spec)![1]!;
    const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(example)![1]!.trim();
    const res = await stack.request('/api/fgm-status', {
      token: stack.signToken(LOCAL_MIDWIFE),
      json: { nhsNumber: '9990000018', birthDate: '2014-03-02' },
      headers: { origin: 'https://epr.test' },
    });
    assert.equal(res.status, 200);
    const sent = stack.sim.received.at(-1)!;
    assert.equal(sent.contentType, header('Content-Type'));
    assert.equal(sent.soapAction, header('SOAPAction'));
  });

  for (const [who, name, token] of [
    ['a local user', LOCAL_MIDWIFE.name, async () => stack.signToken(LOCAL_MIDWIFE)],
    ['a CIS2 user', CIS2_PEOPLE.patel.name, () => stack.cis2Token(CIS2_PEOPLE.patel.uid, { roleId: '555021936108' })],
  ] as const) {
    it(`spine-practitioner-2-0: ${who}'s name (a token or UserInfo claim) never reaches Spine, and the message conforms`, async () => {
      const res = await stack.request('/api/fgm-status', {
        token: await token(),
        json: { nhsNumber: '9990000018', birthDate: '2014-03-02' },
        headers: { origin: 'https://epr.test' },
      });
      assert.equal(res.status, 200);
      const xml = stack.sim.received.at(-1)!.xml;
      assert.ok(!xml.includes(name), 'the name is in the message to Spine');
      assert.deepEqual(validateMessage(xml), []);
    });
  }

  it('SMSP-FGMRI-005/006 tokens with arbitrary claims: every message to Spine and every answer conforms', async () => {
    await fc.assert(
      // Portal tokens (local claims): CIS2 identities come from UserInfo, whose values the property above covers.
      fc.asyncProperty(localClaims, async (claims) => {
        const before = stack.sim.received.length;
        // stack.request rejects when the simulator refused a message or built an answer the profiles refuse.
        const res = await stack.request('/api/fgm-status', {
          token: stack.signToken(claims),
          json: { nhsNumber: '9990000018', birthDate: '2014-03-02' },
          headers: { origin: 'https://epr.test' },
        });
        assert.ok([200, 401, 403, 500].includes(res.status), String(res.status));
        for (const r of stack.sim.received.slice(before)) assert.deepEqual(validateMessage(r.xml), []);
      }),
      { numRuns: 40 },
    );
  });

  it('log reasons are fixed phrases: a FHIR request whose element names carry an NHS number leaves no trace of them in the log', async () => {
    const nhs = '9434765919';
    const q = buildQueryBundle({
      nhsNumber: '9990000018',
      sourceAsid: '918999198993',
      destinationAsid: GATEWAY_ASID,
      author: { kind: 'local', localId: 'u1' },
      organization: { odsCode: 'RY2', name: 'Test Child Health System' },
    });
    const bodies = [
      // An entry whose resource is named after the patient, with no id.
      q.xml.replace('</Bundle>', `<entry><resource><Patient${nhs}/></resource></entry></Bundle>`),
      q.xml
        .replace(
          '</Bundle>',
          `<entry><resource><JaneSmith${nhs}><id value="x"/></JaneSmith${nhs}></resource></entry></Bundle>`,
        )
        .replace(
          '</Bundle>',
          `<entry><resource><JaneSmith${nhs}><id value="x"/></JaneSmith${nhs}></resource></entry></Bundle>`,
        ),
      q.xml.replace(
        '<Parameters>',
        `<Parameters><parameter><name value="${nhs}"/><valueString value="${nhs}"/></parameter>`,
      ),
    ];
    for (const body of bodies) {
      const logged = stack.logs.length;
      const res = await stack.request('/fhir/fgm/query', {
        body,
        clientCert: true,
        headers: { 'content-type': 'application/fhir+xml' },
      });
      assert.equal(res.status, 400);
      const lines = stack.logs.slice(logged).join('\n');
      assert.match(lines, /INPUT_MESSAGE_VALIDATION_ERROR/);
      assert.deepEqual(validNhsNumbersIn(lines), []);
      assert.doesNotMatch(lines, /JaneSmith|Patient9434/);
    }
  });
});
