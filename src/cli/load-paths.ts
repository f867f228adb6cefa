import { loadConfigPath, type LoadResult } from '../config/index.js';

/** Loads several -f arguments in order, as one set (kubectl/istioctl style). */
export async function loadPaths(paths: readonly string[]): Promise<LoadResult> {
  const merged: LoadResult = { resources: [], diagnostics: [], files: [] };
  for (const path of paths) {
    const one = await loadConfigPath(path);
    merged.resources.push(...one.resources);
    merged.diagnostics.push(...one.diagnostics);
    merged.files.push(...one.files);
  }
  return merged;
}
