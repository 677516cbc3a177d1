// COPY … FROM STDIN over the raw protocol (node-postgres has no COPY IN of
// its own): Query, wait for CopyInResponse, CopyData…, CopyDone, and the
// outcome. Reports how far the exchange got, so a crash test can tell "the
// data never reached the server" from "the server may have committed it".

import { serialize, type BackendMessage, type WireClient } from './wire.js';

export type CopyOutcome =
  /** CommandComplete arrived: acknowledged. */
  | { kind: 'acked'; tag: string }
  /** The server answered with an error. */
  | { kind: 'error'; error: BackendMessage }
  /** The connection closed before any answer; `done`: CopyDone had been sent. */
  | { kind: 'lost'; done: boolean };

/** Waits until one of `names` is among the received messages; returns it without consuming anything else. */
async function waitFor(client: WireClient, names: string[], timeoutMs: number): Promise<BackendMessage | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = client.received.find((m) => names.includes(m.name));
    if (found) return found;
    if (client.closed) return undefined;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${names.join('/')}; got ${client.received.map((m) => m.name).join(',')}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Runs one COPY FROM STDIN. `onDone` is called right after CopyDone is
 * written (from then on the server may commit). Leaves the client ready for
 * the next query when the outcome is `acked` or `error`.
 */
export async function copyIn(
  client: WireClient,
  sql: string,
  chunks: Buffer[],
  onDone: () => void = () => {},
  timeoutMs = 30_000,
): Promise<CopyOutcome> {
  client.received.length = 0;
  client.send(serialize.query(sql));
  const start = await waitFor(client, ['copyInResponse', 'error'], timeoutMs);
  if (!start) return { kind: 'lost', done: false };
  if (start.name === 'error') {
    await waitFor(client, ['readyForQuery'], timeoutMs);
    client.received.length = 0;
    return { kind: 'error', error: start };
  }
  for (const chunk of chunks) client.send(serialize.copyData(chunk));
  client.send(serialize.copyDone());
  onDone();
  const end = await waitFor(client, ['commandComplete', 'error'], timeoutMs);
  if (!end) return { kind: 'lost', done: true };
  await waitFor(client, ['readyForQuery'], timeoutMs);
  client.received.length = 0;
  return end.name === 'commandComplete' ? { kind: 'acked', tag: String(end['text']) } : { kind: 'error', error: end };
}
