import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { LoopDelayRead } from './loop-types.js';

/** Event-loop delay of this process over one phase (ms): a stall shows here, not in averages. */
export class LoopDelay {
  private readonly h: IntervalHistogram;
  constructor(resolutionMs = 10) {
    this.h = monitorEventLoopDelay({ resolution: resolutionMs });
    this.h.enable();
  }
  reset(): void { this.h.reset(); }
  read(): LoopDelayRead {
    return { p99Ms: this.h.percentile(99) / 1e6, maxMs: this.h.max / 1e6 };
  }
}
