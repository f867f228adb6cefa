// Bytes allocated on the V8 heap while `fn` runs, from v8.GCProfiler: the heap's used size
// before each GC minus its size after the previous one (or at the start), plus the growth since
// the last GC. Exact for the JS heap (young and old generation); off-heap buffers are not
// counted. The profiler reads heap statistics at every GC, so run it apart from CPU figures.
import { getHeapStatistics, GCProfiler } from 'node:v8';

export interface AllocResult<T> { value: T; bytes: number; scavenges: number; markCompacts: number }

export async function measureAlloc<T>(fn: () => Promise<T>): Promise<AllocResult<T>> {
  const profiler = new GCProfiler();
  const start = getHeapStatistics().used_heap_size;
  profiler.start();
  const value = await fn();
  const end = getHeapStatistics().used_heap_size;
  const stats = profiler.stop()?.statistics ?? [];
  let bytes = 0;
  let prev = start;
  let scavenges = 0;
  let markCompacts = 0;
  for (const s of stats) {
    bytes += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - prev);
    prev = s.afterGC.heapStatistics.usedHeapSize;
    if (s.gcType === 'Scavenge') scavenges++;
    else if (s.gcType === 'MarkSweepCompact') markCompacts++;
  }
  bytes += Math.max(0, end - prev);
  return { value, bytes, scavenges, markCompacts };
}
