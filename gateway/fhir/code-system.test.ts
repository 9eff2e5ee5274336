/**
 * Which code system each Details.Code is sent under on the FHIR interface (SMSP-ERR-002), checked
 * against Spine's own value set file (test/spec/valuesets, copied from the spec), not our list.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { operationOutcome } from '../reply.ts';
import { buildQueryResponse, parseQueryResponse } from './response-bundle.ts';
import { LOCAL_CODE_SYSTEM, loadVocabulary, SPINE_RESPONSE_CODES } from './vocabulary.ts';

const SPINE_SYSTEM = 'http://fhir.nhs.net/ValueSet/spine-response-code-2-0';

/** The codes a value set file defines, read from its XML. */
function valueSetCodes(file: string): Set<string> {
  const xml = readFileSync(new URL(`../../test/spec/valuesets/${file}`, import.meta.url), 'utf8');
  assert.match(
    xml,
    new RegExp(`<system value="${SPINE_SYSTEM.replace(/\./g, '\\.')}"/>`),
    'the file is the spine-response-code-2-0 value set',
  );
  return new Set([...xml.matchAll(/<concept>\s*<code value="([A-Z0-9_]+)"\/>/g)].map((m) => m[1]!));
}
const SPINE_VALUE_SET = valueSetCodes('spine-response-code-2-0.xml');

/** Every row the gateway can answer a FHIR client with: the shipped vocabulary, local rows included. */
const ROWS = loadVocabulary().rows;
const common = {
  respondsTo: 'a0b1c2d3-0000-4000-8000-000000000001',
  sourceAsid: '200000000111',
  destinationAsid: '918999198993',
};

/** The coding the answer carries, read from the XML as a client would. */
function codingOf(xml: string): { system: string; code: string } {
  const m = /<details><coding><system value="([^"]+)"\/><code value="([^"]+)"\/>/.exec(xml);
  assert.ok(m, 'an OperationOutcome with a coding');
  return { system: m[1]!, code: m[2]! };
}

test("SMSP-ERR-002 every code sent under Spine's system is in its value set; every other code goes under our own system", () => {
  assert.equal(SPINE_VALUE_SET.size, 13);
  const local: string[] = [];
  for (const row of ROWS) {
    const { system, code } = codingOf(buildQueryResponse({ ...common, outcome: operationOutcome(row) }).xml);
    assert.equal(code, row.code);
    if (system === SPINE_SYSTEM)
      assert.ok(
        SPINE_VALUE_SET.has(code),
        `${code} is sent under Spine's system but is not in spine-response-code-2-0`,
      );
    else {
      assert.equal(system, LOCAL_CODE_SYSTEM, code);
      assert.ok(!SPINE_VALUE_SET.has(code), `${code} is Spine's own code`);
      local.push(code);
    }
  }
  for (const code of ['SPINE_BUSY', 'CLIENT_DISABLED', 'ACCESS_DENIED', 'REQUEST_TOO_LARGE', 'NOT_FOUND'])
    assert.ok(local.includes(code), code);
  assert.doesNotMatch(LOCAL_CODE_SYSTEM, /nhs\.(net|uk)/, 'our system is not passed off as an NHS one');
});

test("SMSP-ERR-002 the product's copy of the value set is the value set", () => {
  assert.deepEqual([...SPINE_RESPONSE_CODES].sort(), [...SPINE_VALUE_SET].sort());
});

test('SMSP-ERR-002 a row added to the vocabulary without a value-set code is local without any flag', () => {
  const row = {
    httpStatus: 499,
    severity: 'error',
    issueType: 'incomplete',
    code: 'SOME_NEW_LOCAL_CODE',
    display: 'x',
    smspCode: 'SMSP-LOCAL-X',
  } as const;
  assert.equal(
    codingOf(buildQueryResponse({ ...common, outcome: operationOutcome(row) }).xml).system,
    LOCAL_CODE_SYSTEM,
  );
});

test('SMSP-VAL-004 an answer pairing a code with the other system is refused', () => {
  const swap = (code: string, from: string, to: string) => {
    const row = ROWS.find((r) => r.code === code)!;
    return buildQueryResponse({ ...common, outcome: operationOutcome(row) }).xml.replace(
      `<system value="${from}"/>`,
      `<system value="${to}"/>`,
    );
  };
  const busyAsSpine = parseQueryResponse(swap('SPINE_BUSY', LOCAL_CODE_SYSTEM, SPINE_SYSTEM));
  assert.ok(!busyAsSpine.ok && /details\.coding\.system/.test(busyAsSpine.error.message));
  const spineAsLocal = parseQueryResponse(swap('NO_RECORD_FOUND', SPINE_SYSTEM, LOCAL_CODE_SYSTEM));
  assert.ok(!spineAsLocal.ok && /details\.coding\.system/.test(spineAsLocal.error.message));
  const noRecord = ROWS.find((r) => r.code === 'NO_RECORD_FOUND')!;
  assert.ok(parseQueryResponse(buildQueryResponse({ ...common, outcome: operationOutcome(noRecord) }).xml).ok);
  // Spine never sends our local codes: as an answer from Spine, one breaks the profile's fixed system.
  const busy = ROWS.find((r) => r.code === 'SPINE_BUSY')!;
  assert.ok(!parseQueryResponse(buildQueryResponse({ ...common, outcome: operationOutcome(busy) }).xml).ok);
});
