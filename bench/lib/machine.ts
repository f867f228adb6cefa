import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { canPin } from './pin.js';

/** The machine line RESULTS.md records next to every table. */
export function describeMachine(): string {
  let cpu = 'unknown CPU';
  try { cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu; } catch { /* not Linux */ }
  const ram = (totalmem() / 2 ** 30).toFixed(1);
  return `nproc ${availableParallelism()}, ${cpu}, ${ram} GiB RAM, Node ${process.version}, ` +
    (canPin() ? 'taskset pinning on (clients CPU 0, servers CPU 1)' : 'no CPU pinning (taskset unavailable or 1 CPU)');
}
