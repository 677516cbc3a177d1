import { strict as assert } from 'node:assert';

/**
 * Keeps rows in the hot tier's twins for the reads of a twin that run
 * outside a DuckDB transaction (see hot-tier.ts): such a read may take its
 * persistent snapshot before an apply commits and its twin snapshot after,
 * so the rows that commit moved leave the twins only once every read begun
 * before it has its result.
 */
export class TwinHolds {
  /** Reads in progress by the generation they began in; keys ascend (a read begins in the newest). */
  private readonly reads = new Map<number, number>();
  /** Ends at each discard: a read begun after it takes its persistent snapshot after the commits the discard follows. */
  private generation = 0;
  /** Discards waiting for the reads of their generation and earlier, oldest first. */
  private readonly held: { upTo: bigint; generation: number }[] = [];

  constructor(
    /** Deletes the twins' rows up to `upTo`. */
    private readonly discard: (upTo: bigint) => void,
    /** A later discard covers an earlier one and waits longer: past this many held, the earlier are dropped (only delayed). */
    private readonly maxHeld = 16,
  ) {}

  /** A read is about to take its snapshots; it calls the function returned once it has its result (later calls do nothing). */
  hold(): () => void {
    const generation = this.generation;
    this.reads.set(generation, (this.reads.get(generation) ?? 0) + 1);
    let holding = true;
    return () => {
      if (!holding) return;
      holding = false;
      const left = this.reads.get(generation)! - 1;
      assert(left >= 0, 'a read released twice');
      if (left > 0) this.reads.set(generation, left);
      else this.reads.delete(generation);
      this.discardReleased();
    };
  }

  /** The persistent database has committed every row up to `upTo`: they leave the twins once the reads begun before now are done. */
  discardAfterReads(upTo: bigint): void {
    this.held.push({ upTo, generation: this.generation++ });
    if (this.held.length > this.maxHeld) this.held.splice(0, this.held.length - this.maxHeld);
    this.discardReleased();
  }

  private discardReleased(): void {
    const oldestRead = this.reads.keys().next().value ?? Infinity;
    let upTo: bigint | undefined;
    while (this.held.length > 0 && this.held[0]!.generation < oldestRead) upTo = this.held.shift()!.upTo;
    if (upTo !== undefined) this.discard(upTo);
  }
}
