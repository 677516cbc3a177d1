// Large results are streamed as the client reads: the server's memory stays
// bounded while a client is slow, and row limits page through huge portals.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startArka, type ArkaProcess } from './support/arka.js';
import { serialize, WireClient } from './support/wire.js';

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

describe('streaming large results', () => {
  let arka: ArkaProcess;
  before(async () => {
    arka = await startArka();
  });
  after(async () => arka?.destroy());

  test('a slow client does not make the server hold the result', async () => {
    const rows = 2_000_000;
    const rowBytes = 512;
    const socket = connect({ host: '127.0.0.1', port: arka.port });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(serialize.startup({ user: 'arka', database: 'arka' }));
    // Frames are counted by hand: a light scanner keeps the client fast once it reads.
    let pending: Buffer = Buffer.alloc(0);
    let dataRows = 0;
    let readyCount = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let at = 0;
      while (pending.length - at >= 5) {
        const length = pending.readInt32BE(at + 1);
        if (pending.length - at < 1 + length) break;
        const type = pending[at]!;
        if (type === 0x44) dataRows++;
        if (type === 0x5a && ++readyCount === 2) resolveDone();
        at += 1 + length;
      }
      pending = pending.subarray(at);
    });
    await new Promise((r) => setTimeout(r, 300));
    const baseline = rssBytes(arka.process.pid!);
    socket.write(serialize.query(`SELECT i, repeat('x', ${rowBytes}) AS pad FROM range(${rows}) t(i)`));
    await new Promise((r) => setTimeout(r, 200));
    socket.pause();
    // The whole result is over 1 GB on the wire; give the server time to (wrongly) buffer it.
    await new Promise((r) => setTimeout(r, 2500));
    const whilePaused = rssBytes(arka.process.pid!);
    socket.resume();
    await done;
    socket.end();
    assert.equal(dataRows, rows);
    const growth = whilePaused - baseline;
    assert.ok(growth < 256 * 1024 * 1024, `server RSS grew by ${Math.round(growth / 1048576)} MB while the client was not reading`);
  });

  test('Execute row limits page through a ten-million-row portal', async () => {
    const wire = await WireClient.connect(arka.port);
    wire.send(
      serialize.query('BEGIN'),
      serialize.parse({ name: 'big', text: 'SELECT i FROM range(10000000) t(i)' }),
      serialize.bind({ portal: 'cursor', statement: 'big' }),
      serialize.execute({ portal: 'cursor', rows: 1000 }),
      serialize.flush(),
    );
    await wire.until('readyForQuery');
    const firstPage = await wire.until('portalSuspended');
    assert.equal(firstPage.filter((m) => m.name === 'dataRow').length, 1000);
    assert.equal(firstPage.find((m) => m.name === 'dataRow')!['fields'][0], '0');
    wire.send(serialize.execute({ portal: 'cursor', rows: 5 }), serialize.flush());
    const secondPage = await wire.until('portalSuspended');
    assert.deepEqual(secondPage.filter((m) => m.name === 'dataRow').map((m) => m['fields'][0]), ['1000', '1001', '1002', '1003', '1004']);
    wire.send(serialize.close({ type: 'P', name: 'cursor' }), serialize.sync(), serialize.query('COMMIT'));
    await wire.until('readyForQuery');
    await wire.until('readyForQuery');
    wire.end();
  });

  test('another statement may run while a portal is suspended', async () => {
    const wire = await WireClient.connect(arka.port);
    wire.send(
      serialize.query('BEGIN'),
      serialize.parse({ name: 'mid', text: 'SELECT i FROM range(50000) t(i)' }),
      serialize.bind({ portal: 'cursor', statement: 'mid' }),
      serialize.execute({ portal: 'cursor', rows: 3 }),
      serialize.parse({ text: 'SELECT 42' }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.execute({ portal: 'cursor', rows: 0 }),
      serialize.sync(),
    );
    await wire.until('readyForQuery');
    const messages = await wire.until('readyForQuery');
    const first = messages.filter((m) => m.name === 'dataRow').slice(0, 3);
    assert.deepEqual(first.map((m) => m['fields'][0]), ['0', '1', '2']);
    assert.equal(messages.findIndex((m) => m.name === 'portalSuspended'), 5);
    const other = messages.findIndex((m) => m.name === 'dataRow' && m['fields'][0] === '42');
    assert.ok(other > 0);
    const rest = messages.slice(other + 2).filter((m) => m.name === 'dataRow').map((m) => Number(m['fields'][0]));
    assert.equal(rest.length, 50000 - 3);
    assert.equal(rest[0], 3);
    assert.equal(rest.at(-1), 49999);
    assert.equal(messages.at(-2)!['text'], 'SELECT 49997');
    wire.send(serialize.query('COMMIT'));
    await wire.until('readyForQuery');
    wire.end();
  });
});
