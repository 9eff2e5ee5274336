/**
 * @module test/assurance/requirements
 * Reads every requirement ID and its force (MUST / SHOULD / MAY) out of the five requirement
 * documents copied into test/spec/requirements, so the traceability report and the whole-run check
 * start from the documents themselves rather than from a list someone typed.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Force = 'MUST' | 'SHOULD' | 'MAY';
export interface Requirement {
  id: string;
  force: Force;
  document: string;
  /** The requirement's heading as the document words it, on one line. */
  title: string;
}

export const specDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'spec', 'requirements');
export const documents = [
  'fgm-is-smsp-provider-requirements-1.0.1.txt',
  'smsp-common-provider-requirements-1.0.txt',
  'fgm-is-smsp-client-requirements-2.0.1.txt',
  'smsp-common-client-requirements-1.0.txt',
  'fgm-is-local-system-integration-requirements-2.2.txt',
] as const;

/** Any requirement ID the documents use (also as cited in test names). */
export const idPattern = /\b(?:SMSP-[A-Z]+-\d{3}|MSCA-[A-Z]+-\d{2}|FGMISQR?\d{3,4})\b/g;

/** An ID followed by more numbers of its family: `SMSP-AUDIT-004/006`, `MSCA-AUD-01/02/03`. */
const idFamily = /\b(SMSP-[A-Z]+-|MSCA-[A-Z]+-)(\d{2,3})((?:\/\d{2,3})+)\b/g;

/**
 * The requirement IDs a test name cites: each ID, and each number after a slash as an ID of the
 * same family, so "SMSP-AUDIT-004/006" cites both (it counted for the first only).
 */
export function citedIds(name: string): string[] {
  const ids: string[] = [...(name.match(idPattern) ?? [])];
  for (const [, family, , more] of name.matchAll(idFamily))
    for (const n of more!.split('/').slice(1)) ids.push(`${family}${n}`);
  return ids;
}

const definition = /^\s*(SMSP-[A-Z]+-\s?\d{3}|MSCA-\s?[A-Z]+-\d{2}|FGMISQR?\d{3,4})\b[:\s]*(.*)$/;
// The common provider document's table breaks a long ID over two lines: "SMSP-AUDIT-   title" then "001".
const splitHead = /^(SMSP-[A-Z]+-)\s+(.*)$/;
const splitTail = /^(\d{3})\b\s*(.*)$/;
const forceWord = /\b(MUST|SHOULD|MAY)\b/;

/** The documents' requirements in document order; an ID defined twice keeps its first definition. */
export function parseRequirements(dir = specDir): Requirement[] {
  const out = new Map<string, Requirement>();
  for (const document of documents) {
    const lines = readFileSync(join(dir, document), 'utf8').split(/\r?\n/);
    const starts: { line: number; id: string; title: string }[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] ?? '';
      const head = splitHead.exec(line);
      const tail = head && splitTail.exec(lines[i + 1] ?? '');
      if (head && tail) {
        starts.push({ line: i, id: `${head[1]}${tail[1]}`, title: `${head[2]} ${tail[2]}` });
        i++;
        continue;
      }
      const m = definition.exec(line);
      if (m) starts.push({ line: i, id: m[1]!.replace(/\s/g, ''), title: m[2] ?? '' });
    }
    starts.forEach((s, k) => {
      if (out.has(s.id)) return;
      // The local-integration table puts the force in a right-hand column, sometimes on the line
      // above the ID; elsewhere the first MUST/SHOULD/MAY of the requirement's text is its force.
      const from = document.startsWith('fgm-is-local') ? s.line - 1 : s.line;
      const to = starts[k + 1]?.line ?? lines.length;
      const block = lines.slice(from, to).join('\n');
      const force = forceWord.exec(block)?.[1] as Force | undefined;
      if (!force) throw new Error(`${document}: no MUST/SHOULD/MAY for ${s.id}`);
      const title = (s.title.trim() || lines[s.line + 1]?.trim() || '')
        .replace(/\s{2,}(MUST NOT|MUST|SHOULD|MAY)$/, '')
        .replace(/\s+/g, ' ');
      out.set(s.id, { id: s.id, force, document, title });
    });
  }
  return [...out.values()];
}
