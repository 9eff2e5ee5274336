/**
 * @module test/audit/audit-postgres-vacuum
 * FGMISQR009 over a real PostgreSQL: clearing an outcome leaves its old row version — outcome and
 * salt — in the table's pages until the table's owner vacuums it (`erase-outcomes --owner-url`,
 * and every `retain`). The pages are read as raw bytes (pageinspect, as the superuser), an
 * oracle independent of the store.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { POSTGRES_URL, sqlAs, testDatabase, type TestDatabase } from '../helpers/services.ts';
import {
  eraseOutcomesPostgres,
  migratePostgres,
  openPostgresAuditStore,
  postgresPool,
  vacuumAuditTable,
} from '../../gateway/audit/postgres-store.ts';

describe('FGMISQR009 an erased outcome leaves PostgreSQL pages once the owner vacuums', () => {
  let db: TestDatabase;
  let superuserUrl: string;
  before(async () => {
    db = await testDatabase();
    const owner = postgresPool(db.ownerUrl, 1);
    await migratePostgres(owner, db.gatewayRole).finally(() => owner.end());
    const u = new URL(POSTGRES_URL);
    u.pathname = new URL(db.ownerUrl).pathname;
    superuserUrl = u.toString();
    await sqlAs(superuserUrl, 'CREATE EXTENSION pageinspect');
  });
  after(() => db?.drop());

  it('FGMISQR009 the cleared salt is in the raw pages after the erasure, and gone after vacuumAuditTable as the owner', async () => {
    const KEY = randomBytes(32);
    const store = await openPostgresAuditStore(db.gatewayUrl, KEY);
    await store.record({
      time: '2019-01-01T10:00:00.000Z',
      eventType: 'widget-query',
      requestId: 'r1',
      clientMessageId: 'r1',
      clientId: 'epr',
      userId: 'ajones',
      roleProfileId: null,
      localRoles: 'midwife',
      orgCode: 'RX1',
      nhsNumber: '9990000018',
      spineMessageId: 'm1',
      spineResponseId: null,
      outcomeCode: 'SUCCESS',
      httpStatus: 200,
      answeredBySpine: true,
      detail: null,
      outcomeEraseOn: '2020-01-01',
    });
    await store.close();
    const [{ outcomeSalt }] = (await sqlAs<{ outcomeSalt: string }>(
      db.gatewayUrl,
      'SELECT "outcomeSalt" FROM audit_event',
    )) as [{ outcomeSalt: string }];
    const gateway = postgresPool(db.gatewayUrl, 1);
    assert.deepEqual(
      await eraseOutcomesPostgres(gateway, KEY, '2020-01-01', {
        time: '2020-01-01T03:00:00.000Z',
        orgCode: 'RX1',
        requestId: 'erase',
        archives: [],
      }).finally(() => gateway.end()),
      [1],
    );
    const inPages = async () =>
      (
        await sqlAs<{ found: boolean }>(
          superuserUrl,
          `SELECT position(convert_to($1, 'UTF8') in get_raw_page('audit_event', 0)) > 0 AS found`,
          [outcomeSalt],
        )
      )[0]!.found;
    assert.equal(await inPages(), true, 'the old row version still holds the salt');
    // PostgreSQL only warns and skips a table the caller does not own.
    await sqlAs(db.gatewayUrl, 'VACUUM audit_event');
    assert.equal(await inPages(), true, 'the gateway role cannot vacuum it away');
    const owner = postgresPool(db.ownerUrl, 1);
    await vacuumAuditTable(owner).finally(() => owner.end());
    assert.equal(await inPages(), false);
    assert.deepEqual(
      await sqlAs(
        db.gatewayUrl,
        'SELECT "outcomeCode", "outcomeSalt", "userId" FROM audit_event WHERE "eventType" = \'widget-query\'',
      ),
      [{ outcomeCode: null, outcomeSalt: null, userId: 'ajones' }],
      "the erasure record beside it is the run's",
    );
  });
});
