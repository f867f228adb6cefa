// Plain node:http backends for the HTTP data-plane tests: each counts its hits and answers with
// what the test's behaviour function says (default: 200 with its name).
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hit {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Behaviour = (hit: Hit, res: http.ServerResponse, n: number) => void | Promise<void>;

export interface Backend {
  name: string;
  port: number;
  server: http.Server;
  hits: Hit[];
  handler: http.RequestListener;
  close(): Promise<void>;
}

export function reply(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers });
  res.end(body);
}

/** The request listener of a backend (without listening), for mesh.listen(). */
export function backendHandler(name: string, behaviour?: Behaviour, hits: Hit[] = []): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit: Hit = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      hits.push(hit);
      if (behaviour) void Promise.resolve(behaviour(hit, res, hits.length)).catch(() => res.destroy());
      else reply(res, 200, name, { 'x-backend': name });
    });
  };
}

/** Starts a backend on 127.0.0.1:0. */
export async function startBackend(name: string, behaviour?: Behaviour): Promise<Backend> {
  const hits: Hit[] = [];
  const handler = backendHandler(name, behaviour, hits);
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    name, server, hits, handler,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** A port nothing listens on (bound then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Deterministic 50% failure: a small LCG, so a test sees the same sequence on every run. */
export function coin(seed: number): () => boolean {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31 < 0.5;
  };
}
