// A real Prometheus (Debian's `prometheus` binary) for tests: a free port (Prometheus cannot
// listen on port 0, so one is reserved by binding 0 first), a temp TSDB, a 1 s scrape interval,
// and the HTTP API (`/api/v1/query`, `/api/v1/targets`) with bounded polling.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { request } from 'undici';

export const PROMETHEUS_BIN = process.env['PROMETHEUS_BIN'] ?? '/usr/bin/prometheus';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

export class Prometheus {
  private constructor(private readonly child: ChildProcess, readonly port: number, private readonly dir: string, private readonly log: () => string) {}

  /** Starts Prometheus with one job discovering its targets from `httpSdUrl`. */
  static async start(httpSdUrl: string): Promise<Prometheus> {
    const dir = await mkdtemp(join(tmpdir(), 'meshlet-prom-'));
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: meshlet',
      '    scrape_interval: 1s',
      '    scrape_timeout: 900ms',
      '    http_sd_configs:',
      `      - url: ${JSON.stringify(httpSdUrl)}`,
      '        refresh_interval: 1s',
      '',
    ].join('\n');
    await writeFile(join(dir, 'prometheus.yml'), config);
    const port = await freePort();
    const child = spawn(PROMETHEUS_BIN, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => { if (stderr.length < 20_000) stderr += c.toString(); });
    const exited = new Promise<never>((_, reject) => {
      child.once('error', (err) => reject(new Error(`cannot run ${PROMETHEUS_BIN} (install Debian's prometheus package): ${err.message}`)));
      child.once('exit', (code) => reject(new Error(`prometheus exited with ${code}: ${stderr}`)));
    });
    exited.catch(() => {});
    const prom = new Prometheus(child, port, dir, () => stderr);
    await Promise.race([exited, prom.until('Prometheus ready', async () => {
      const res = await request(`http://127.0.0.1:${port}/-/ready`).catch(() => undefined);
      if (!res) return undefined;
      await res.body.text();
      return res.statusCode === 200 ? true : undefined;
    })]);
    return prom;
  }

  /** Polls `probe` every 200 ms until it returns a value (not undefined); fails after `timeoutMs`. */
  async until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const v = await probe();
        if (v !== undefined) return v;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}\nprometheus log: ${this.log()}`);
      await delay(200);
    }
  }

  async api<T>(path: string): Promise<T> {
    const res = await request(`http://127.0.0.1:${this.port}${path}`);
    const body = (await res.body.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? res.statusCode}`);
    return body.data;
  }

  /** An instant query's vector result. */
  async query(promql: string): Promise<PromVector[]> {
    const data = await this.api<{ resultType: string; result: PromVector[] }>(`/api/v1/query?query=${encodeURIComponent(promql)}`);
    if (data.resultType !== 'vector') throw new Error(`expected a vector from ${promql}, got ${data.resultType}`);
    return data.result;
  }

  /** Active targets with their health. */
  async targets(): Promise<Array<{ scrapeUrl: string; health: string; labels: Record<string, string>; lastError: string }>> {
    const data = await this.api<{ activeTargets: Array<{ scrapeUrl: string; health: string; labels: Record<string, string>; lastError: string }> }>('/api/v1/targets?state=active');
    return data.activeTargets;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exit = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      process.kill(this.child.pid!, 'SIGTERM');
      await exit;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
