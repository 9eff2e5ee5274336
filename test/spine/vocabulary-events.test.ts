/**
 * SMSP-CONF-001: which Details.Code each gateway event produces is configuration (the vocabulary
 * file's `events` map), shown over real sockets with an operator's own vocabulary file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LOCAL_RECEPTIONIST, startTestStack, type TestStack } from '../helpers/stack.ts';

const dir = mkdtempSync(join(tmpdir(), 'vocab-events-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The shipped vocabulary file, read as data: the oracle for each row's status and text. */
const shipped = () => JSON.parse(readFileSync(new URL('../../gateway/fhir/vocabulary.json', import.meta.url), 'utf8'));
const row = (code: string) => shipped().rows.find((r: { code: string }) => r.code === code);
const BORN = `${new Date().getUTCFullYear() - 10}-01-01`;

/** Writes `edit(shipped file)` as an operator's vocabulary file; returns its path. */
function operatorFile(name: string, edit: (v: any) => void): string {
  const v = shipped();
  edit(v);
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(v));
  return file;
}

describe('SMSP-CONF-001 the mapping from system events to codes is configuration', () => {
  it('SMSP-CONF-001 an operator remapping user-lacks-activity changes the answer and the audit outcome', async () => {
    const file = operatorFile('remapped.json', (v) => (v.events['user-lacks-activity'] = 'AUTHOR_CREDENTIALS_ERROR'));
    const stack: TestStack = await startTestStack({ configure: (r) => (r.vocabularyFile = file) });
    try {
      const res = await stack.request('/api/fgm-status', {
        token: stack.signToken(LOCAL_RECEPTIONIST),
        json: { nhsNumber: '9990000018', birthDate: BORN },
      });
      const expected = row('AUTHOR_CREDENTIALS_ERROR');
      assert.equal(res.status, expected.httpStatus);
      const body = JSON.parse(res.body);
      assert.equal(body.code, 'AUTHOR_CREDENTIALS_ERROR');
      assert.equal(body.smspCode, expected.smspCode);
      assert.equal(stack.auditRows().at(-1)!.outcomeCode, 'AUTHOR_CREDENTIALS_ERROR');
      assert.equal(stack.sim.received.length, 0, 'Spine was not called');
    } finally {
      await stack.close();
    }
  });

  const startFails = async (file: string, message: RegExp) => {
    let started: TestStack | undefined;
    try {
      await assert.rejects(
        async () => (started = await startTestStack({ configure: (r) => (r.vocabularyFile = file) })),
        (e: Error) => e.name === 'ConfigError' && message.test(e.message) && !e.message.includes('\n'),
      );
    } finally {
      await started?.close();
    }
  };
  it('SMSP-CONF-001 a file leaving an event unmapped is refused at start, naming the event', () =>
    startFails(
      operatorFile('unmapped.json', (v) => delete v.events['spine-busy']),
      /^config: vocabularyFile: .*events: no code for spine-busy$/,
    ));
  it('SMSP-CONF-001 a file mapping an event to a code that is not a row is refused at start, naming both', () =>
    startFails(
      operatorFile('unknown-code.json', (v) => (v.events['patient-18-or-over'] = 'TOO_OLD')),
      /^config: vocabularyFile: .*events: patient-18-or-over maps to TOO_OLD, which is not a row$/,
    ));
  it('SMSP-CONF-001 a file naming an event the gateway does not raise is refused at start', () =>
    startFails(
      operatorFile('unknown-event.json', (v) => (v.events['patient-too-tall'] = 'INVALID_PARAMETER')),
      /^config: vocabularyFile: .*events: unknown event patient-too-tall$/,
    ));
});
