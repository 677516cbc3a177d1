import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { createLogger } from './log.js';
import { ArkaServer, DEFAULT_APPLY_INTERVAL_MS, DEFAULT_LIMITS, type ServerConfig } from './server.js';
import { ARKA_VERSION } from './session/settings.js';

const USAGE = `Usage: arka serve [options]

Options:
  --host <address>          address to listen on (default 127.0.0.1)
  --port <port>             port to listen on (default 5432)
  --data-dir <dir>          data directory (default ./arka-data)
  --user <name>             the user clients log in as (default arka)
  --password <password>     require SCRAM-SHA-256 with this password (or ARKA_PASSWORD);
                            required when --host is not a loopback address
  --max-connections <n>     concurrent connections (default 100)
  --max-message-size <n>    largest protocol message in bytes (default 1073741824)
  --duckdb-memory-limit <s> DuckDB memory_limit, e.g. 4GB (default: DuckDB's own)
  --duckdb-threads <n>      DuckDB worker threads (default: DuckDB's own)
  --read-wait-timeout <ms>  how long a read waits for DuckDB to apply the writes
                            acknowledged before it, then 57014 (default 30000)
  --apply-interval <ms>     how long acknowledged inserts wait to be applied to DuckDB
                            together, unless a read needs them sooner (default 100)
  --log-level <level>       trace, debug, info, warn, error (default info)
  --version                 print the version
`;

function fail(message: string): never {
  process.stderr.write(`arka: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) fail(`--${name} must be a positive integer, got "${value}"`);
  return n;
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '5432' },
      'data-dir': { type: 'string', default: './arka-data' },
      user: { type: 'string', default: 'arka' },
      password: { type: 'string' },
      'max-connections': { type: 'string' },
      'max-message-size': { type: 'string' },
      'duckdb-memory-limit': { type: 'string' },
      'duckdb-threads': { type: 'string' },
      'read-wait-timeout': { type: 'string' },
      'apply-interval': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      version: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.version) {
    process.stdout.write(`arka ${ARKA_VERSION}\n`);
    return;
  }
  if (values.help || positionals[0] !== 'serve') {
    process.stdout.write(USAGE);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be 0..65535, got "${values.port}"`);
  const config: ServerConfig = {
    host: values.host!,
    port,
    dataDir: resolve(values['data-dir']!),
    user: values.user!,
    password: values.password ?? process.env['ARKA_PASSWORD'] ?? undefined,
    maxConnections: positiveInteger('max-connections', values['max-connections'], 100),
    duckdbMemoryLimit: values['duckdb-memory-limit'],
    duckdbThreads: values['duckdb-threads'] ? positiveInteger('duckdb-threads', values['duckdb-threads'], 1) : undefined,
    applyIntervalMs: positiveInteger('apply-interval', values['apply-interval'], DEFAULT_APPLY_INTERVAL_MS),
    limits: {
      ...DEFAULT_LIMITS,
      maxMessageLength: positiveInteger('max-message-size', values['max-message-size'], DEFAULT_LIMITS.maxMessageLength),
      readWaitTimeoutMs: positiveInteger('read-wait-timeout', values['read-wait-timeout'], DEFAULT_LIMITS.readWaitTimeoutMs),
    },
  };
  if (config.password === '') config.password = undefined;
  const log = createLogger(values['log-level']!);
  let server: ArkaServer;
  try {
    server = await ArkaServer.start(config, log);
  } catch (error) {
    log.fatal({ err: error }, 'arka failed to start');
    process.stderr.write(`arka: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    log.info({ signal }, 'signal received');
    server.stop().then(
      () => process.exit(0),
      (error) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

await main(process.argv.slice(2));
