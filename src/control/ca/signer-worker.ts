// Entry of a signing worker thread (see signer.ts): builds the signer once from the CA key in
// workerData, then answers { id, job } with { id, pem } or { id, error }.
import { parentPort, workerData } from 'node:worker_threads';
import { createSigner, type SignerInit, type SignJob } from './sign.js';

const port = parentPort;
if (port) {
  const sign = await createSigner((workerData as { init: SignerInit }).init);
  port.on('message', (msg: { id: number; job: SignJob }) => {
    sign(msg.job).then(
      (pem) => port.postMessage({ id: msg.id, pem }),
      (err: { code?: unknown; message?: unknown }) => port.postMessage({ id: msg.id, error: { code: typeof err?.code === 'string' ? err.code : undefined, message: String(err?.message ?? err) } }),
    );
  });
  port.postMessage({ ready: true });
}
