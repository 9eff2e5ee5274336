/**
 * @module test/bench/answer-read
 * Microseconds per node of reading one Spine answer as the gateway does (decode, parse, profile
 * deviations, safety core): a normal indicator answer, and the same answer carrying `n` valued
 * extensions in its Flag and Patient (issue 18 review F2). Run: `tsx test/bench/answer-read.ts [n]`;
 * under `node --cpu-prof --import tsx` to see where the time goes. Not part of `npm test`.
 */
import { indicatorAnswer } from '../../demo/spine/answers.ts';
import { validateMessage } from '../../gateway/fhir/profile-validator.ts';
import { decodeXml, parseXml } from '../../gateway/fhir/xml.ts';
import { checkAnswer } from '../../gateway/spine/answer-safety.ts';

const n = Number(process.argv[2] ?? 2400);
const now = new Date();
const messageId = '14daadee-26e1-4d6a-9e6a-7f4af9b58877';
const normal = indicatorAnswer(
  { respondsTo: messageId, destinationAsid: '200000000111', timestamp: now },
  '9990000018',
  '2019-12-10',
);
const ext = (i: number) => `<extension url="https://example.org/x${i}"><valueString value="x"/></extension>`;
const many = (count: number) =>
  normal
    .replace(
      '<status value="active"/>',
      `${Array.from({ length: count / 2 }, (_, i) => ext(i)).join('')}<status value="active"/>`,
    )
    .replace('<identifier>', `${Array.from({ length: count / 2 }, (_, i) => ext(i)).join('')}<identifier>`);

const read = (xml: string) => {
  const decoded = decodeXml(Buffer.from(xml), 'application/xml+fhir; charset=utf-8');
  if (!decoded.ok) throw new Error(decoded.message);
  const parsed = parseXml(decoded.text, { maxBytes: Number.POSITIVE_INFINITY, nearFhir: true });
  if (!parsed.ok) throw new Error(parsed.error.message);
  const found = validateMessage(parsed.value, { inferProfiles: 'response' });
  const verdict = checkAnswer(parsed.value, {
    messageId,
    nhsNumber: '9990000018',
    smspAsid: '200000000111',
    spineAsid: '990101234567',
    httpStatus: 200,
    now,
    maxAheadMs: 300_000,
    maxBehindMs: 86_400_000,
    isKnownCode: () => true,
  });
  return { found, verdict };
};
const nodes = (xml: string) => (xml.match(/<[^/!?]/g) ?? []).length;

for (const [name, xml] of [
  ['normal', normal],
  [`${n} extensions`, many(n)],
] as const) {
  const first = read(xml);
  if (!first.verdict.usable) console.log(name, 'refused:', first.verdict.reason);
  const rounds = name === 'normal' ? 2000 : 40;
  for (let i = 0; i < rounds / 4; i++) read(xml);
  const t = performance.now();
  for (let i = 0; i < rounds; i++) read(xml);
  const ms = (performance.now() - t) / rounds;
  console.log(
    `${name}: ${nodes(xml)} nodes, ${xml.length} chars, ${ms.toFixed(3)} ms per answer, ${((ms * 1000) / nodes(xml)).toFixed(2)} µs per node, ${first.found.length} deviations`,
  );
}
