import { meshError, type MeshErrorCode } from '../errors.js';

/**
 * Calls the control server's admin API. An unreachable server or an error answer becomes a
 * MeshError with one clear line, never a stack trace.
 */
export async function adminRequest<T = unknown>(base: string, path: string, init?: { method?: string; body?: string; headers?: Record<string, string> }): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(base + path, {
      method: init?.method ?? 'GET',
      ...(init?.body !== undefined ? { body: init.body } : {}),
      headers: { ...(process.env['MESHLET_ADMIN_TOKEN'] ? { authorization: `Bearer ${process.env['MESHLET_ADMIN_TOKEN']}` } : {}), ...(init?.headers ?? {}) },
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    const reason = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw meshError('MESHLET_ERR_CONTROL_UNREACHABLE', `cannot reach the control server admin API at ${base} (${reason}); is \`meshlet control\` running? (--server HOST:PORT)`, { cause: err });
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    // plain-text answers (healthz) stay strings
  }
  if (res.status >= 400 && res.status !== 400) {
    const e = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    const code = (e?.code ?? 'MESHLET_ERR_ADMIN_REQUEST') as MeshErrorCode;
    throw meshError(code, e?.message ?? `admin API answered ${res.status} for ${path}`);
  }
  return { status: res.status, body: body as T };
}
