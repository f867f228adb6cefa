// Entry of a signing worker thread (see signer.ts): builds the signer once from the CA key in
// workerData, then answers { id, job } with { id, pem } or { id, error }. Messages sent before
// the signer is ready wait in the port. (No top-level await: the CJS bundle cannot have it.)
import { parentPort, workerData } from 'node:worker_threads';
import { createSigner, type SignJob } from './sign.js';

const port = parentPort;
if (port) {
  void createSigner((workerData as { init: Parameters<typeof createSigner>[0] }).init).then((sign) => {
    port.on('message', (msg: { id: number; job: SignJob }) => {
      sign(msg.job).then(
        (pem) => port.postMessage({ id: msg.id, pem }),
        (err: { code?: unknown; message?: unknown }) => port.postMessage({ id: msg.id, error: { code: typeof err?.code === 'string' ? err.code : undefined, message: String(err?.message ?? err) } }),
      );
    });
  });
}
