/**
 * Bounds on configuration input. Every YAML text meshlet reads (files, the admin API, `meshlet
 * apply`) is checked against these before and while it is parsed, so a hostile or broken file
 * costs bounded time and memory and gets a `MESHLET_ERR_CONFIG_LIMIT` diagnostic with its line.
 * README's "Config input" section lists them; keep the two in sync.
 */
export interface ConfigLimits {
  /** Largest file (or admin request body) in bytes. Default 3 MiB, the admin API's body limit (kube-apiserver's default). */
  maxFileBytes: number;
  /** Most YAML documents in one file. Default 10,000. */
  maxDocuments: number;
  /** Deepest nesting of maps and lists, counting alias expansion. Default 64. */
  maxDepth: number;
  /** Longest single scalar (or other token), in characters. Default 262,144 (256 Ki). */
  maxScalarLength: number;
  /** Most nodes aliases may add to one document when expanded (the "billion laughs" bound). Default 50,000. */
  maxAliasNodes: number;
}

/** The defaults of {@link ConfigLimits}. */
export const DEFAULT_CONFIG_LIMITS: Readonly<ConfigLimits> = Object.freeze({
  maxFileBytes: 3 * 1024 * 1024,
  maxDocuments: 10_000,
  maxDepth: 64,
  maxScalarLength: 256 * 1024,
  maxAliasNodes: 50_000,
});

/** `1048576` → `"1 MiB"`, for limit messages. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
