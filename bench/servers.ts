// The two servers under test, started fresh by the benchmark and stopped
// (data directories removed) when it is done.

import { startArka } from '../test/support/arka.js';
import { startPostgres } from '../test/support/postgres.js';
import type { Target } from './common.js';

export type Server = {
  target: Target;
  /** The process whose memory is sampled; PostgreSQL's work happens in per-connection backends, so none. */
  pid?: number;
  stop(): Promise<void>;
};

export function arkaTarget(port: number): Target {
  return { name: 'Arka', host: '127.0.0.1', port, user: 'arka', database: 'arka' };
}

export async function startArkaServer(): Promise<Server> {
  const arka = await startArka();
  return { target: arkaTarget(arka.port), pid: arka.process.pid, stop: () => arka.destroy() };
}

export async function startPostgresServer(): Promise<Server> {
  const pg = await startPostgres();
  return { target: { name: 'PostgreSQL', host: pg.host, port: pg.port, user: 'postgres', database: 'postgres' }, stop: () => pg.stop() };
}
