/**
 * The built gateway reads the profile trees from dist/gateway/fhir/profiles.json, written at build
 * from the snapshots: it must hold exactly what reading the snapshots gives, so the validator's
 * rules still come from the spec's files.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { readSnapshots, reviveProfiles, serializeProfiles, type ElementDef } from './profile-snapshots.ts';

describe('the profile trees the built gateway ships', () => {
  const snapshots = readSnapshots();

  it('read back from their JSON, equal the trees read from the snapshot files', () => {
    const revived = reviveProfiles(serializeProfiles(snapshots));
    assert.deepEqual([...revived.keys()].sort(), [...snapshots.keys()].sort());
    for (const [url, p] of snapshots) assert.deepStrictEqual(revived.get(url), p, url);
    // A max of many survives the trip as a number, not the string it is written as.
    const many = (d: ElementDef): boolean => d.max === Infinity || [...d.defined, ...d.slices].some(many);
    assert.ok([...revived.values()].some((p) => many(p.root)));
  });

  it('name the same definitions the tree holds (one object, not a copy)', () => {
    for (const p of reviveProfiles(serializeProfiles(snapshots)).values()) {
      const inTree = new Set<ElementDef>();
      const walk = (d: ElementDef) => {
        inTree.add(d);
        [...d.defined, ...d.slices].forEach(walk);
      };
      walk(p.root);
      for (const [name, def] of p.named) assert.ok(inTree.has(def), `${p.url} ${name}`);
    }
  });

  it('npm run build wrote them from the snapshots now in gateway/fhir/profiles', () => {
    const built = new URL('../../dist/gateway/fhir/profiles.json', import.meta.url);
    assert.ok(existsSync(built), 'run npm run build first (npm test does)');
    assert.equal(readFileSync(built, 'utf8'), serializeProfiles(snapshots));
  });
});
