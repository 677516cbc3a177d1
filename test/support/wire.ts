// A raw protocol client for tests that need exact control of the message
// sequence (pipelining, row limits, malformed input). Messages are encoded and
// decoded by node-postgres's pg-protocol, independently of Arka's codec.

import { connect, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { parse, serialize } from 'pg-protocol';

export { serialize };

export type BackendMessage = { name: string; [key: string]: any };

export class WireClient {
  readonly received: BackendMessage[] = [];
  private waiters: (() => void)[] = [];
  processId = 0;
  secretKey = 0;
  closed = false;

  private constructor(readonly socket: Socket) {}

  static async connect(port: number, startup: Record<string, string> = { user: 'arka', database: 'arka' }): Promise<WireClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new WireClient(socket);
    const stream = new PassThrough();
    socket.on('data', (chunk) => stream.write(chunk));
    socket.on('close', () => {
      client.closed = true;
      client.notify();
    });
    socket.on('error', () => {});
    void parse(stream, (message) => {
      client.received.push(message as unknown as BackendMessage);
      client.notify();
    });
    socket.write(serialize.startup(startup));
    const ready = await client.until('readyForQuery');
    const key = ready.find((m) => m.name === 'backendKeyData');
    client.processId = key?.['processID'] ?? 0;
    client.secretKey = key?.['secretKey'] ?? 0;
    return client;
  }

  private notify(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  send(...buffers: Buffer[]): void {
    this.socket.write(Buffer.concat(buffers));
  }

  /** Waits until a message named `name` arrives; returns (and consumes) everything up to it. */
  async until(name: string, timeoutMs = 20_000): Promise<BackendMessage[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.received.findIndex((m) => m.name === name);
      if (index >= 0) return this.received.splice(0, index + 1);
      if (this.closed) throw new Error(`connection closed while waiting for ${name}; got ${JSON.stringify(this.received.map((m) => m.name))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${name}; got ${JSON.stringify(this.received.map((m) => m.name))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the socket to close. */
  async closedByServer(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('server did not close the connection');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  end(): void {
    if (!this.closed) this.socket.end(serialize.end());
  }
}

/** Just the names, for asserting a message sequence. */
export function names(messages: BackendMessage[]): string[] {
  return messages.map((m) => m.name);
}
