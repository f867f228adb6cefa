import { createServer } from 'node:net';
import { meshError, type MeshError } from '../errors.js';

/** `host:port` for gRPC and messages, bracketing IPv6 literals. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Turns a bind failure into the error the user should see: MESHLET_ERR_PORT_IN_USE with the
 * role and port named ("xDS port 15010 is already in use"), anything else MESHLET_ERR_LISTEN.
 */
export function listenError(role: string, host: string, port: number, err: unknown): MeshError {
  const text = `${(err as { code?: string })?.code ?? ''} ${(err as Error)?.message ?? String(err)}`;
  if (text.includes('EADDRINUSE')) {
    return meshError('MESHLET_ERR_PORT_IN_USE', `${role} port ${port} is already in use (${hostPort(host, port)}); stop the other process or pick another port`, { cause: err, detail: { port, host } });
  }
  return meshError('MESHLET_ERR_LISTEN', `cannot listen for ${role} on ${hostPort(host, port)}: ${(err as Error)?.message ?? String(err)}`, { cause: err, detail: { port, host } });
}

/**
 * Checks that `host:port` can be bound, by binding and releasing it. grpc-js reports a taken port
 * only after logging its own error line to stderr; probing first keeps the CLI output to our one
 * clear message. (The tiny race with another process is harmless: the real bind reports it too.)
 */
export async function probePort(role: string, host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (err) => reject(listenError(role, host, port, err)));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}
