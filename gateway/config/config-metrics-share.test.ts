import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { parseConfig } from './config.ts';

const example = () => JSON.parse(readFileSync(new URL('./config.example.json', import.meta.url), 'utf8'));

it('metrics listen on 127.0.0.1:9464 unless configured (the public contract)', () => {
  const raw = example();
  delete raw.metrics;
  assert.deepEqual(parseConfig(raw, '/srv').metrics, { host: '127.0.0.1', port: 9464 });
});

it('SMSP-PERF-001 spineShare values that add up to more than the whole stop start-up naming the key', () => {
  const raw = example();
  raw.clients[0].spineShare = 0.9;
  assert.throws(
    () => parseConfig(raw, '/srv'),
    (e: Error) =>
      e.name === 'ConfigError' && /^config: clients: the spineShare values add up to more than 1/.test(e.message),
  );
  raw.clients[0].spineShare = 0;
  assert.throws(
    () => parseConfig(raw, '/srv'),
    (e: Error) => e.name === 'ConfigError' && /^config: clients\.0\.spineShare: /.test(e.message),
  );
});
