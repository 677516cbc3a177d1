// npm run bench: Arka and PostgreSQL 15 side by side on this machine, in two
// sections — read (pgbench queries, a 10-million-row result streamed to psql,
// a CPU profile) and write (a 5-million-row COPY, single-row inserts and
// upserts, write-to-read freshness, a CPU profile of inserts) — printed as
// markdown and written to BENCHMARKS.md.
//
// npm run bench -- write (or BENCH_SECTIONS=write) runs only the sections
// named; BENCH_SECONDS sets the length of each timed run.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSection } from './read.js';
import { SECTIONS, writeBenchmarks, type Section } from './report.js';
import { writeSection } from './write.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEFAULT_SECONDS = 10;

const RUN: Record<Section, (workDir: string, seconds: number) => Promise<string>> = { read: readSection, write: writeSection };

function benchSeconds(): number {
  const raw = process.env['BENCH_SECONDS'];
  if (!raw) return DEFAULT_SECONDS;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds <= 0) throw new Error(`BENCH_SECONDS must be a positive integer, got "${raw}"`);
  return seconds;
}

/** The sections named on the command line, else in BENCH_SECTIONS, else all; in their usual order. */
function chosenSections(): Section[] {
  const named = [...process.argv.slice(2), process.argv.length > 2 ? '' : process.env['BENCH_SECTIONS'] ?? '']
    .flatMap((arg) => arg.split(/[\s,]+/))
    .filter((name) => name !== '');
  if (named.length === 0) return [...SECTIONS];
  const unknown = named.filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown section ${unknown.join(', ')}: the sections are ${SECTIONS.join(', ')}`);
  return SECTIONS.filter((section) => named.includes(section));
}

async function main(): Promise<void> {
  const seconds = benchSeconds();
  const sections = chosenSections();
  const workDir = mkdtempSync(join(os.tmpdir(), 'arka-bench-'));
  try {
    for (const section of sections) {
      process.stderr.write(`bench: section ${section}\n`);
      const markdown = await RUN[section](workDir, seconds);
      process.stdout.write(`## ${section}\n\n${markdown}\n`);
      // Written after each section, so a later one failing keeps the earlier results.
      writeBenchmarks(join(ROOT, 'BENCHMARKS.md'), section, markdown);
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
