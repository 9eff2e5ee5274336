/**
 * Hostile review of today's reader fix 9604c11 (reserved prefixes, one expanded attribute name
 * twice, lone surrogates) and of 44eafb0's loose risk-code reading on legitimate answers: what
 * Spine legitimately sends (the simulator's every harmless variant, as UTF-8 and as UTF-16 with a
 * supplementary character, xml:lang, xmlns:xml bound to its own namespace, namespaced attributes)
 * is still read, by the same path as gateway/spine/client.ts (decodeXml, then parseXml), and the
 * safety core still uses it (SMSP-VAL-004). These passed at review: they record what held.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorAnswer, HARMLESS_VARIANTS, indicatorAnswer, SPINE_ASID } from '../../demo/spine/answers.ts';
import { checkAnswer } from '../spine/answer-safety.ts';
import { decodeXml, parseXml } from './xml.ts';

const NOW = new Date('2026-12-08T10:00:00Z');
const ID = '3f1c2b9a-5d7e-4c1a-9b2e-8f6a0d4c7e11';
const NHS = '9990000018';
const a = { respondsTo: ID, destinationAsid: '047192794544', timestamp: NOW };
const ROW = { code: 'NO_RECORD_FOUND', display: 'No Record Found', severity: 'error', issueType: 'not-found' };

/** What the client does with bytes, then the safety core. */
function judge(bytes: Buffer, httpStatus: number, type = 'application/xml+fhir') {
  const d = decodeXml(bytes, type);
  assert.ok(d.ok, d.ok ? '' : d.message);
  const p = parseXml(d.text, { maxBytes: Number.POSITIVE_INFINITY, nearFhir: true });
  if (!p.ok) return `not parsed: ${p.error.message}`;
  const v = checkAnswer(p.value, {
    messageId: ID,
    nhsNumber: NHS,
    smspAsid: '047192794544',
    spineAsid: SPINE_ASID,
    httpStatus,
    now: NOW,
    maxAheadMs: 300_000,
    maxBehindMs: 86_400_000,
    isKnownCode: (c) => c === 'NO_RECORD_FOUND',
  });
  return v.usable ? v.outcome.kind : `refused: ${v.reason}`;
}
const utf16 = (xml: string, le: boolean) => {
  const b = Buffer.from(`\ufeff${xml.replace('encoding="UTF-8"', 'encoding="UTF-16"')}`, 'utf16le');
  return le ? b : Buffer.from(b).swap16();
};
/** A narrative with a supplementary character (a surrogate pair in JavaScript), xml:lang and a namespaced attribute. */
const decorated = (xml: string) =>
  xml.replace(
    /(<Flag>|<OperationOutcome>)(<id value="[^"]*"\/>)/,
    `$1$2<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml" xmlns:xml="http://www.w3.org/XML/1998/namespace" xml:lang="en-GB"><p xml:space="preserve" xmlns:x="urn:x" x:lang="cy">FGM \u{1F6A9} 𝔉</p></div></text>`,
  );

/** Variants the simulator means beside an indicator only (their notes say so): beside "no record" the core refuses them on purpose. */
const INDICATOR_ONLY = new Set(['info-outcome', 'no-response-code', 'empty-entry']);

describe('attack today (9604c11, 44eafb0): legitimate Spine answers are still read', () => {
  for (const [name, variant] of Object.entries(HARMLESS_VARIANTS))
    test(`SMSP-VAL-004 harmless variant ${name}, as UTF-8 and UTF-16 (both byte orders) with a surrogate pair, xml:lang and xmlns:xml: indicator and no record still read`, () => {
      const found = decorated(variant(indicatorAnswer(a, NHS, '2019-12-10'), NHS));
      const none = decorated(variant(errorAnswer(a, ROW), NHS));
      for (const [xml, status, kind] of [
        [found, 200, 'indicator'],
        [none, 404, 'error'],
      ] as const) {
        if (kind === 'error' && INDICATOR_ONLY.has(name)) continue;
        assert.equal(judge(Buffer.from(xml, 'utf8'), status), kind, `${name} UTF-8`);
        assert.equal(judge(utf16(xml, true), status), kind, `${name} UTF-16LE`);
        assert.equal(judge(utf16(xml, false), status), kind, `${name} UTF-16BE`);
      }
    });
});
