// A V8 CPU profile of one phase of a bench child (the measured loop, not start-up or warm-up),
// through the inspector protocol, written as `<dir>/<name>.cpuprofile` (Chrome DevTools format;
// bench/profile-top.ts prints its top self-time items).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

export async function profilePhase<T>(dir: string, name: string, fn: () => Promise<T>, intervalUs = 100): Promise<T> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(dir, `${name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '')}-${process.pid}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}
