// TwinHolds (src/write/twin-holds.ts): rows an apply has committed leave the
// hot tier's twins only after every read that began before the commit has
// its result; reads begun after it never delay it.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TwinHolds } from '../src/write/twin-holds.js';

function holds(maxHeld?: number) {
  const discarded: bigint[] = [];
  return { discarded, twins: new TwinHolds((upTo) => discarded.push(upTo), maxHeld) };
}

describe('rows held in the twins for reads outside a transaction', () => {
  test('with no read in progress, a discard happens at once', () => {
    const { discarded, twins } = holds();
    twins.discardAfterReads(10n);
    twins.discardAfterReads(20n);
    assert.deepEqual(discarded, [10n, 20n]);
  });

  test('a read begun before a discard holds it until the read ends; one begun after does not', () => {
    const { discarded, twins } = holds();
    const early = twins.hold();
    twins.discardAfterReads(10n);
    const late = twins.hold();
    assert.deepEqual(discarded, [], 'the early read may have its persistent snapshot from before the commit');
    late();
    assert.deepEqual(discarded, [], 'a later read ending releases nothing');
    early();
    assert.deepEqual(discarded, [10n]);
    early();
    assert.deepEqual(discarded, [10n], 'a second release does nothing');
  });

  test('each discard waits only for the reads begun before it, and the ready ones go as one', () => {
    const { discarded, twins } = holds();
    const first = twins.hold();
    twins.discardAfterReads(10n);
    const second = twins.hold();
    twins.discardAfterReads(20n);
    twins.discardAfterReads(30n);
    first();
    assert.deepEqual(discarded, [10n], 'the discards after the second read still wait for it');
    second();
    assert.deepEqual(discarded, [10n, 30n], 'up to 30 covers 20');
  });

  test('two reads of one generation: the discard waits for both', () => {
    const { discarded, twins } = holds();
    const a = twins.hold();
    const b = twins.hold();
    twins.discardAfterReads(5n);
    b();
    assert.deepEqual(discarded, []);
    a();
    assert.deepEqual(discarded, [5n]);
  });

  test('while a long read holds them, only the newest discards are kept (the newest covers the rest)', () => {
    const { discarded, twins } = holds(3);
    const long = twins.hold();
    for (let lsn = 1n; lsn <= 10n; lsn++) twins.discardAfterReads(lsn * 10n);
    long();
    assert.deepEqual(discarded, [100n]);
  });
});
