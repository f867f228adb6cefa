// Real etcd members (Debian's /usr/bin/etcd) on loopback ports with temp data dirs, started and
// stopped by PID, for the etcd store's tests. A cluster of N is N processes with one
// --initial-cluster; each is ready once it logs "ready to serve client requests" (after a leader
// was elected), which is the event the tests wait on instead of sleeping.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../integration/control/control-process.js';

export const ETCD_BIN = process.env['MESHLET_ETCD_BIN'] ?? '/usr/bin/etcd';

/** Whether an etcd binary is there (the tests need one; CI installs Debian's etcd-server). */
export function haveEtcd(): boolean {
  return existsSync(ETCD_BIN);
}

interface MemberSpec {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
}

/** One etcd member process. */
export class EtcdMember {
  child: ChildProcess | undefined;
  output = '';
  private exited: Promise<void> = Promise.resolve();

  constructor(readonly spec: MemberSpec, private readonly initialCluster: string, private readonly clusterToken: string) {}

  get client(): string {
    return `127.0.0.1:${this.spec.clientPort}`;
  }

  /** Starts (or restarts, same data dir) the member; resolves when it serves clients. */
  async start(timeoutMs = 60_000): Promise<void> {
    const { name, clientPort, peerPort, dataDir } = this.spec;
    const existing = existsSync(join(dataDir, 'member'));
    const child = spawn(ETCD_BIN, [
      '--name', name,
      '--data-dir', dataDir,
      '--listen-client-urls', `http://127.0.0.1:${clientPort}`,
      '--advertise-client-urls', `http://127.0.0.1:${clientPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-cluster', this.initialCluster,
      '--initial-cluster-token', this.clusterToken,
      '--initial-cluster-state', existing ? 'existing' : 'new',
      // A loaded 2-core machine: generous election timing so a slow tick is not a lost leader.
      '--heartbeat-interval', '200', '--election-timeout', '2000',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.output = '';
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`etcd ${name} not ready within ${timeoutMs} ms:\n${this.output.slice(-4000)}`)), timeoutMs);
      const onData = (chunk: Buffer): void => {
        this.output = (this.output + chunk.toString()).slice(-32_768);
        if (/ready to serve client requests/.test(this.output)) done();
      };
      const onExit = (): void => done(new Error(`etcd ${name} exited before it was ready:\n${this.output.slice(-4000)}`));
      const done = (err?: Error): void => {
        clearTimeout(timer);
        child.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      };
      child.stderr!.on('data', onData);
      child.stdout!.on('data', onData);
      child.once('exit', onExit);
    });
  }

  /** SIGKILL by PID; resolves once it is gone. */
  async kill(): Promise<void> {
    const c = this.child;
    if (c && c.exitCode === null && c.signalCode === null) process.kill(c.pid!, 'SIGKILL');
    await this.exited;
  }
}

/** N members on loopback; `url` is the `etcd://` store URL naming all of them. */
export class EtcdCluster {
  private constructor(readonly members: EtcdMember[], private readonly root: string) {}

  get url(): `etcd://${string}` {
    return `etcd://${this.members.map((m) => m.client).join(',')}`;
  }

  static async start(size: number): Promise<EtcdCluster> {
    const root = await mkdtemp(join(tmpdir(), 'meshlet-etcd-'));
    const specs: MemberSpec[] = [];
    for (let i = 0; i < size; i++) specs.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort(), dataDir: join(root, `m${i}`) });
    const initial = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
    const token = `meshlet-${process.pid}-${Date.now()}`;
    const cluster = new EtcdCluster(specs.map((s) => new EtcdMember(s, initial, token)), root);
    try {
      // Members of a new cluster wait for each other: start them together.
      await Promise.all(cluster.members.map((m) => m.start()));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill()));
    await rm(this.root, { recursive: true, force: true });
  }
}
