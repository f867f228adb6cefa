// What one idle connection costs a Node server, without grpc-js or meshlet: N plain TCP
// connections, or N node:http2 sessions with one open stream each (an ADS stream's shape),
// RSS and heap per connection after a GC. It is the floor under the control server's memory
// per connected client (bench/xds-convergence.ts). H2OPTS (JSON) passes http2.createServer options.
//
//   node --import tsx bench/h2-session-memory.ts [--kind http2|net] [--n 1000]
import { fork } from 'node:child_process';
import http2 from 'node:http2';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { kind: { type: 'string' }, n: { type: 'string' }, serve: { type: 'boolean' } } });
const kind = values.kind ?? 'http2';
const N = Number(values.n ?? 1000);
const gc = (globalThis as { gc?: () => void }).gc;

if (values.serve) {
  let count = 0;
  const held: unknown[] = [];
  const srv = kind === 'net'
    ? net.createServer((s) => { count++; held.push(s); })
    : http2.createServer(JSON.parse(process.env['H2OPTS'] ?? '{}') as http2.ServerOptions).on('stream', (s) => {
      count++;
      held.push(s);
      s.respond({ ':status': 200 });
      s.write('x');
    });
  srv.listen(0, '127.0.0.1', () => {
    gc?.(); gc?.();
    const m0 = process.memoryUsage();
    process.send!({ port: (srv.address() as net.AddressInfo).port });
    const t = setInterval(() => {
      if (count < N) return;
      clearInterval(t);
      setTimeout(() => {
        gc?.(); gc?.();
        const m = process.memoryUsage();
        process.send!({ rssKiB: (m.rss - m0.rss) / N / 1024, heapKiB: (m.heapUsed - m0.heapUsed) / N / 1024 });
      }, 500);
    }, 50);
  });
} else {
  const child = fork(process.argv[1]!, ['--serve', '--kind', kind, '--n', String(N)], { execArgv: ['--expose-gc', '--import', 'tsx'] });
  const keep: unknown[] = [];
  child.on('message', async (m: { port?: number; rssKiB?: number; heapKiB?: number }) => {
    if (m.port === undefined) {
      console.log(`${kind}, ${N} connections: RSS ${m.rssKiB!.toFixed(1)} KiB, heap ${m.heapKiB!.toFixed(1)} KiB per connection`);
      child.kill();
      process.exit(0);
    }
    for (let i = 0; i < N; i++) {
      if (kind === 'net') keep.push(net.connect(m.port, '127.0.0.1'));
      else {
        const s = http2.connect(`http://127.0.0.1:${m.port}`);
        const r = s.request({ ':method': 'POST', ':path': '/x' });
        r.on('data', () => {});
        keep.push(s, r);
      }
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
    }
  });
}
