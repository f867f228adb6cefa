/** Event-loop delay over one phase, ms. */
export interface LoopDelayRead {
  p99Ms: number;
  maxMs: number;
}
