/**
 * @module demo/portal/token
 * `npm run -s dev:token -- <user> [--data-dir .data]`: prints a session token for one of the
 * simulator's test users, signed with the dev IdP key, for the gateway `npm run dev:portal`
 * configured. Refused unless that folder's marker says development (demo/portal/dev-portal.ts):
 * the token is the only thing on stdout, so `$(npm run -s dev:token -- midwife)` works.
 */
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDemoIdp } from '../epr/idp.ts';
import { DEV_TOKEN_SECONDS, DEV_USERS, readMarker } from './dev-portal.ts';

const USAGE = `usage: npm run -s dev:token -- <${DEV_USERS.map((u) => u.id).join('|')}> [--data-dir .data]`;

try {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      options: { 'data-dir': { type: 'string' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    throw new Error(`${(e as Error).message.split('\n')[0]}\n${USAGE}`, { cause: e });
  }
  const [name, ...extra] = parsed.positionals;
  if (!name || extra.length) throw new Error(`name one test user\n${USAGE}`);
  const user = DEV_USERS.find((u) => u.id === name);
  if (!user) throw new Error(`no test user "${name}"; the test users are ${DEV_USERS.map((u) => u.id).join(', ')}`);
  const marker = readMarker(parsed.values['data-dir'] ?? '.data');
  const idp = loadDemoIdp(dirname(marker.keyFile));
  process.stdout.write(`${idp.issue(user.claims, marker.issuer, marker.audience, DEV_TOKEN_SECONDS)}\n`);
} catch (e) {
  console.error(`npm run dev:token: ${(e as Error).message}`);
  process.exit(1);
}
