// CPU pinning: on a 2-core machine the load generator and the server must not steal each
// other's core, or every ratio measures the scheduler. taskset is used when it exists.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

export const CLIENT_CPU = 0;
export const SERVER_CPU = 1;

let available: boolean | undefined;
export function canPin(): boolean {
  if (available === undefined) {
    try {
      execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
      available = availableParallelism() >= 2;
    } catch {
      available = false;
    }
  }
  return available;
}

/** [command, args] that run `cmd args` pinned to `cpu` (unchanged when pinning is unavailable or `cpu` < 0). */
export function pinned(cpu: number, cmd: string, args: readonly string[]): [string, string[]] {
  return canPin() && cpu >= 0 ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, [...args]];
}

/** Pins an already running process and all its threads (used for processes we did not spawn). */
export function pinPid(pid: number, cpu: number): void {
  if (canPin()) execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}
