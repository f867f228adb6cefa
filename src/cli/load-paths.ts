import { loadConfigPath, type LoadResult, type ParseOptions } from '../config/index.js';

/** Loads several -f arguments in order, as one set (kubectl/istioctl style). */
export async function loadPaths(paths: readonly string[], options: ParseOptions = {}): Promise<LoadResult> {
  const merged: LoadResult = { resources: [], diagnostics: [], files: [], ...(options.keepInvalid ? { invalid: [] } : {}) };
  for (const path of paths) {
    const one = await loadConfigPath(path, options);
    merged.resources.push(...one.resources);
    merged.diagnostics.push(...one.diagnostics);
    merged.files.push(...one.files);
    if (one.invalid) merged.invalid?.push(...one.invalid);
  }
  return merged;
}
