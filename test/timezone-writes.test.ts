// Writes convert text to timestamptz in the session's TimeZone, as
// PostgreSQL does: INSERT (alone, batched with other sessions' inserts, and
// with parameters), UPDATE, upserts and COPY, from sessions in different
// zones at once, compared with PostgreSQL 15.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startArka, type ArkaProcess } from './support/arka.js';
import { copyIn } from './support/copy-in.js';
import { startPostgres, type PostgresServer } from './support/postgres.js';
import { serialize, WireClient } from './support/wire.js';
import { rawTypes } from './support/raw-types.js';

const ZONES = ['America/New_York', 'Asia/Kolkata', 'UTC', 'Pacific/Chatham'];

describe('writes in the session TimeZone', () => {
  let arka: ArkaProcess;
  let postgres: PostgresServer;
  before(async () => {
    [arka, postgres] = await Promise.all([startArka(), startPostgres()]);
  });
  after(async () => {
    await arka?.destroy();
    await postgres?.stop();
  });

  const connect = async (server: 'arka' | 'postgres', zone: string): Promise<pg.Client> => {
    const client =
      server === 'arka'
        ? await arka.client({ types: rawTypes })
        : new pg.Client({ host: postgres.host, port: postgres.port, user: 'postgres', database: 'postgres', types: rawTypes });
    if (server === 'postgres') await client.connect();
    await client.query(`SET TimeZone = '${zone}'`);
    return client;
  };

  test('INSERT, UPDATE, upsert and COPY from sessions in four zones store what PostgreSQL stores', async () => {
    for (const server of ['arka', 'postgres'] as const) {
      const setup = await connect(server, 'UTC');
      await setup.query('CREATE TABLE tzw (k int PRIMARY KEY, t timestamptz, note text)');
      await setup.query('CREATE TABLE tza (k int, t timestamptz)');
      await setup.end();
      const clients = await Promise.all(ZONES.map((zone) => connect(server, zone)));
      try {
        // At once, so Arka's writer batches the sessions' inserts into one commit group.
        await Promise.all(
          clients.map(async (client, z) => {
            for (let i = 0; i < 5; i++) {
              const k = z * 100 + i;
              await client.query(`INSERT INTO tza VALUES (${k}, '2024-03-10 01:30:00')`);
              await client.query({ text: 'INSERT INTO tza VALUES ($1, $2)', values: [k + 50, '2024-11-03 01:30:00'] });
              await client.query(`INSERT INTO tzw VALUES (${k}, '2024-06-01 12:00:00', 'insert') ON CONFLICT (k) DO UPDATE SET t = EXCLUDED.t, note = EXCLUDED.note`);
              await client.query(`INSERT INTO tzw VALUES (${k}, '2024-06-02 12:00:00', 'upsert') ON CONFLICT (k) DO UPDATE SET t = EXCLUDED.t, note = EXCLUDED.note`);
              await client.query(`UPDATE tzw SET t = t + interval '1 day', note = note || ' then ' || '2024-01-01 00:00:00'::timestamptz::text WHERE k = ${k}`);
            }
          }),
        );
      } finally {
        await Promise.all(clients.map((client) => client.end()));
      }
    }
    for (const zone of ZONES) {
      const wire = await WireClient.connect(arka.port);
      wire.send(serialize.query(`SET TimeZone = '${zone}'`));
      await wire.until('readyForQuery');
      const rows = Buffer.from(`${ZONES.indexOf(zone) + 1000}\t2024-07-04 09:15:00\tcopied\n`);
      assert.deepEqual(await copyIn(wire, 'COPY tzw FROM STDIN', [rows]), { kind: 'acked', tag: 'COPY 1' });
      wire.end();
      const reference = await connect('postgres', zone);
      await reference.query(`INSERT INTO tzw VALUES (${ZONES.indexOf(zone) + 1000}, '2024-07-04 09:15:00', 'copied')`);
      await reference.end();
    }
    const read = async (server: 'arka' | 'postgres') => {
      const client = await connect(server, 'UTC');
      try {
        return [
          (await client.query({ text: 'SELECT k, t::text, note FROM tzw ORDER BY k', rowMode: 'array' })).rows,
          (await client.query({ text: 'SELECT k, t::text FROM tza ORDER BY k', rowMode: 'array' })).rows,
        ];
      } finally {
        await client.end();
      }
    };
    const [mine, theirs] = await Promise.all([read('arka'), read('postgres')]);
    assert.deepEqual(mine, theirs);
    assert.equal(mine[1]!.length, 40);
  });
});
