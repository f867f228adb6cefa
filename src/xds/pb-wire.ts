/**
 * Moved to ./wire/primitives.ts (the one wire codec lives in src/xds/wire/). Kept as a re-export
 * only for src/security/identity/ca-protocol.ts, whose owner switches the import; nothing else
 * may import this path.
 */
export * from './wire/primitives.js';
