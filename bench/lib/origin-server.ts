// The upstream every data-plane variant ends at: node:http, keep-alive, fixed response bodies.
// Runs in its own process on the server CPU; reports its event-loop delay per phase.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoopDelay } from './loop-delay.js';
import { serveRpc } from './rpc-child.js';

export const PAYLOADS = { tiny: 2, '1k': 1024, '64k': 65536 } as const;
export type Payload = keyof typeof PAYLOADS;

if (process.send) {
  const bodies = new Map(Object.entries(PAYLOADS).map(([name, size]) => [`/${name}`, Buffer.alloc(size, 'x')]));
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const body = bodies.get(req.url ?? '');
    // Drain any request body before answering; the data-plane cases send none.
    req.resume();
    if (!body) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  };
  // The same origin on 127.0.0.1 and 127.0.0.2 (one port): two endpoints for the balancer.
  const servers = [createServer(handler), createServer(handler)];
  for (const s of servers) {
    s.keepAliveTimeout = 120_000;
    s.headersTimeout = 130_000;
  }
  const listen = (s: Server, host: string, port: number) => new Promise<number>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, host, () => resolve((s.address() as AddressInfo).port));
  });
  const loop = new LoopDelay();
  serveRpc({
    listen: async () => {
      const port = await listen(servers[0]!, '127.0.0.1', 0);
      await listen(servers[1]!, '127.0.0.2', port);
      return port;
    },
    loopReset: () => { loop.reset(); },
    loopRead: () => loop.read(),
  });
  process.on('SIGTERM', () => {
    for (const s of servers) { s.closeAllConnections(); s.close(); }
    process.exit(0);
  });
}
