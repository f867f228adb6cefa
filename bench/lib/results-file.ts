// Writes a run's report into bench/RESULTS.md between markers (one block per mode, so a quick
// run never replaces the full table), leaving every other section (the gRPC one, the method
// notes) as their authors wrote them.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const begin = (mode: string) => `<!-- bench:${mode}:begin (written by the bench with --write; edit outside these markers) -->`;
const end = (mode: string) => `<!-- bench:${mode}:end -->`;

export function spliceResults(existing: string | undefined, mode: 'full' | 'quick', report: string): string {
  const block = `${begin(mode)}\n${report.trim()}\n${end(mode)}`;
  if (!existing) return `# Benchmark results\n\n${block}\n`;
  const a = existing.indexOf(`<!-- bench:${mode}:begin`);
  const b = existing.indexOf(end(mode));
  if (a >= 0 && b > a) return existing.slice(0, a) + block + existing.slice(b + end(mode).length);
  // No block for this mode yet: after the other mode's block if there is one, else after the title.
  const other = end(mode === 'full' ? 'quick' : 'full');
  const o = existing.indexOf(other);
  if (o >= 0) {
    const at = o + other.length;
    return mode === 'full'
      ? existing.slice(0, existing.indexOf(`<!-- bench:quick:begin`)) + block + '\n\n' + existing.slice(existing.indexOf(`<!-- bench:quick:begin`))
      : `${existing.slice(0, at)}\n\n${block}${existing.slice(at)}`;
  }
  const h = /^# .*\n+/.exec(existing);
  return h ? `${h[0]}${block}\n\n${existing.slice(h[0].length)}` : `${block}\n\n${existing}`;
}

export function writeResults(path: string, mode: 'full' | 'quick', report: string): void {
  writeFileSync(path, spliceResults(existsSync(path) ? readFileSync(path, 'utf8') : undefined, mode, report));
}
