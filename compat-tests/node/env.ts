// Connection settings for the client programs: libpq's PG* variables, set by the suite.
export const connection = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'arka',
  database: process.env.PGDATABASE ?? 'arka',
};

/** Prints the program's findings as one JSON document (bigints as strings). */
export function report(result: unknown): void {
  process.stdout.write(JSON.stringify(result, (_, value) => (typeof value === 'bigint' ? value.toString() : value), 2));
}

/** Runs `step`, returning its value or the error's SQLSTATE and message. */
export async function attempt<T>(step: () => Promise<T>): Promise<T | { error: string; message: string }> {
  try {
    return await step();
  } catch (error) {
    const e = error as { code?: string; message: string };
    return { error: e.code ?? 'no SQLSTATE', message: e.message };
  }
}
