import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got. */
export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the receiver answers: a status (and headers, body), or 'hang' (never answers). */
export type ReceiverAnswer = { status: number; headers?: Record<string, string>; body?: string | Buffer } | 'hang';

/** A real HTTP listener on 127.0.0.1 that records what it receives and answers as told (200 by default). */
export async function startWebhookReceiver(): Promise<{
  port: number;
  url(path?: string): string;
  received: ReceivedWebhook[];
  answer: (request: ReceivedWebhook) => ReceiverAnswer;
  close(): Promise<void>;
}> {
  const hanging = new Set<ServerResponse>();
  const state = {
    received: [] as ReceivedWebhook[],
    answer: ((): ReceiverAnswer => ({ status: 200, body: 'ok' })) as (request: ReceivedWebhook) => ReceiverAnswer,
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      state.received.push(request);
      const answer = state.answer(request);
      if (answer === 'hang') {
        hanging.add(res);
        return;
      }
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    get received() {
      return state.received;
    },
    set received(value) {
      state.received = value;
    },
    get answer() {
      return state.answer;
    },
    set answer(fn) {
      state.answer = fn;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
