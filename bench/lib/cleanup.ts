// Processes a bench started, stopped by PID if the run is interrupted (Ctrl-C, SIGTERM), so an
// aborted run leaves no nginx or control server behind. Normal runs stop each one themselves.
const live = new Set<number>();
let installed = false;

export function track(pid: number | undefined): void {
  if (pid === undefined) return;
  live.add(pid);
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const p of live) { try { process.kill(p, 'SIGTERM'); } catch { /* already gone */ } }
      process.exit(130);
    });
  }
}

export function untrack(pid: number | undefined): void {
  if (pid !== undefined) live.delete(pid);
}
