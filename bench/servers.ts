// The two servers under test, started fresh by each section of the benchmark
// and stopped (data directories removed) when it is done, and how a
// measurement is run on one and then the other.

import { startArka } from '../test/support/arka.js';
import { startPostgres } from '../test/support/postgres.js';
import { attempt, loadAverage, type Measured, type Outcome, type Target } from './common.js';

export type Server = {
  target: Target;
  /** The process whose memory is sampled; PostgreSQL's work happens in per-connection backends, so none. */
  pid?: number;
  stop(): Promise<void>;
};

/** One measurement on both servers. */
export type Pair<T> = { arka: Measured<T>; postgres: Measured<T> };
export type Side = keyof Pair<unknown>;

export function arkaTarget(port: number): Target {
  return { name: 'Arka', host: '127.0.0.1', port, user: 'arka', database: 'arka' };
}

export async function startArkaServer(): Promise<Server> {
  const arka = await startArka();
  return { target: arkaTarget(arka.port), pid: arka.process.pid, stop: () => arka.destroy() };
}

/** PostgreSQL 15, initdb'd into a temp dir, with settings added to postgresql.conf. */
export async function startPostgresServer(settings: Record<string, string> = {}): Promise<Server> {
  const pg = await startPostgres({ settings });
  return { target: { name: 'PostgreSQL', host: pg.host, port: pg.port, user: 'postgres', database: 'postgres' }, stop: () => pg.stop() };
}

/** Starts both; a server that does not start fails every measurement on its side. */
export async function startServers(postgresSettings: Record<string, string> = {}): Promise<{ arka: Outcome<Server>; postgres: Outcome<Server> }> {
  return {
    arka: await attempt('start Arka', startArkaServer),
    postgres: await attempt('start PostgreSQL', () => startPostgresServer(postgresSettings)),
  };
}

export async function stopServers(servers: { arka: Outcome<Server>; postgres: Outcome<Server> }): Promise<void> {
  for (const server of [servers.arka, servers.postgres]) {
    if (server.ok) await attempt(`stop ${server.value.target.name}`, () => server.value.stop());
  }
}

/**
 * Runs measure on Arka, then on PostgreSQL (never both at once), noting the
 * load average around each; a server that did not start fails its side.
 */
export async function onBoth<T>(
  servers: { arka: Outcome<Server>; postgres: Outcome<Server> },
  what: string,
  measure: (server: Server, side: Side) => Promise<T>,
): Promise<Pair<T>> {
  const on = async (side: Side): Promise<Measured<T>> => {
    const server = servers[side];
    if (!server.ok) return server;
    process.stderr.write(`bench: ${server.value.target.name}: ${what} (load ${loadAverage().toFixed(2)})\n`);
    const start = loadAverage();
    const outcome = await attempt(`${server.value.target.name} ${what}`, () => measure(server.value, side));
    return { ...outcome, load: { start, end: loadAverage() } };
  };
  return { arka: await on('arka'), postgres: await on('postgres') };
}
