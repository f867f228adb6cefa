// --disturb: a process spinning on the client CPU while one variant runs, to prove the A/A gate
// catches a disturbed run. Started and stopped by PID around each disturbed phase.
import { spawn, type ChildProcess } from 'node:child_process';
import { track, untrack } from './cleanup.js';
import { CLIENT_CPU, pinned } from './pin.js';

export class Burner {
  private child: ChildProcess | undefined;

  start(): void {
    if (this.child) return;
    const [cmd, args] = pinned(CLIENT_CPU, process.execPath, ['-e', 'for (;;) {}']);
    this.child = spawn(cmd, args, { stdio: 'ignore' });
    track(this.child.pid);
  }

  stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null) return Promise.resolve();
    untrack(c.pid);
    return new Promise((resolve) => { c.once('exit', () => resolve()); c.kill('SIGKILL'); });
  }
}
