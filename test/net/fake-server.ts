/** A scripted loopback HTTP server for client tests: each request gets the next scripted answer. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAnswer {
  status?: number;
  /** Raw body text (JSON.stringify it yourself for JSON). */
  body: string;
  /** Wait this long before answering (a slow server). */
  delayMs?: number;
}

export interface FakeServer {
  url: string;
  /** Bodies of the requests received so far (parsed JSON). */
  requests: unknown[];
  headers: IncomingMessage['headers'][];
  close(): Promise<void>;
}

/** `answer(body, k)` scripts the k-th request (0-based). */
export async function fakeServer(answer: (body: unknown, k: number) => FakeAnswer): Promise<FakeServer> {
  const requests: unknown[] = [];
  const headers: IncomingMessage['headers'][] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      const body: unknown = text ? JSON.parse(text) : null;
      const k = requests.length;
      requests.push(body);
      headers.push(req.headers);
      const a = answer(body, k);
      const send = (): void => {
        res.writeHead(a.status ?? 200, { 'content-type': 'application/json' });
        res.end(a.body);
      };
      if (a.delayMs) {
        const t = setTimeout(() => {
          timers.delete(t);
          send();
        }, a.delayMs);
        timers.add(t);
      } else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    headers,
    close: () =>
      new Promise<void>((r) => {
        timers.forEach(clearTimeout);
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A loopback URL where nothing listens (a server that is down). */
export async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}
