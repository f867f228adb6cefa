/**
 * Traces that follow the call by themselves: productpage (node:http) → reviews (node:http,
 * mesh.fetch) → ratings (grpc-js over mesh:///), each its own mesh, and no handler copies a
 * header. The OpenTelemetry SDK (`@opentelemetry/sdk-node`) is started first and exports over
 * OTLP/HTTP; meshlet itself only uses `@opentelemetry/api`. Sampling and access logs come from
 * the Telemetry resource in ./config.
 *
 *   docker run -p 16686:16686 -p 4318:4318 jaegertracing/all-in-one   # any OTLP/HTTP collector
 *   node --import tsx examples/tracing/main.ts                        # then open http://localhost:16686
 *   node --import tsx examples/tracing/main.ts --console              # no collector: print spans
 *
 * OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318) picks the collector.
 */
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';

const toConsole = process.argv.includes('--console');
// The SDK starts before any mesh: its TracerProvider becomes the global one meshlet records with.
const sdk = new NodeSDK({
  serviceName: 'bookinfo',
  traceExporter: toConsole ? new tracing.ConsoleSpanExporter() : new OTLPTraceExporter(),
  instrumentations: [],
});
sdk.start();

const { fileURLToPath } = await import('node:url');
const grpc = await import('@grpc/grpc-js');
const { createControlServer } = await import('meshlet-node/control');
const { createMesh } = await import('meshlet-node');

const json = { serialize: (v: unknown) => Buffer.from(JSON.stringify(v)), deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown };
const RATINGS: import('@grpc/grpc-js').ServiceDefinition = {
  Get: { path: '/bookinfo.Ratings/Get', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
};
const RatingsClient = grpc.makeGenericClientConstructor(RATINGS, 'bookinfo.Ratings');

const control = await createControlServer({ configDir: fileURLToPath(new URL('./config', import.meta.url)), xdsPort: 0, adminPort: null });
const controlPlane = `127.0.0.1:${control.xdsPort}`;
const mesh = (service: string) => createMesh({ controlPlane, service, labels: { app: service, version: 'v1' } });

// ratings: a grpc-js service.
const ratings = await mesh('ratings');
const server = ratings.grpc.createServer({ servicePort: 9090 });
server.server.addService(RATINGS, { Get: (_call: unknown, cb: (e: null, r: unknown) => void) => cb(null, { stars: 5 }) });
await server.bind('127.0.0.1:0');

// reviews: calls ratings over gRPC; no metadata is passed, the mesh adds traceparent and x-request-id.
const reviews = await mesh('reviews');
const ratingsClient = reviews.grpc.client(RatingsClient, 'ratings:9090') as unknown as { Get(m: unknown, cb: (e: Error | null, r?: { stars: number }) => void): void; close(): void };
await reviews.listen((_req, res) => {
  ratingsClient.Get({}, (err, r) => res.end(JSON.stringify(err ? { error: err.message } : { reviewer: 'Reviewer1', stars: r!.stars })));
}, { port: 0, servicePort: 9080 });

// productpage: calls reviews with mesh.fetch; no header copied.
const productpage = await mesh('productpage');
const page = await productpage.listen(async (_req, res) => {
  const r = await productpage.fetch('http://reviews:9080/reviews/0');
  res.end(`productpage: ${await r.text()}`);
}, { port: 0, servicePort: 9080 });

// A caller outside the mesh (curl, a browser): productpage decides to sample (Telemetry: 100%).
for (let i = 0; i < 20; i++) {
  const res = await fetch(`http://127.0.0.1:${page.port}/productpage`).catch(() => undefined);
  if (res?.ok) {
    console.log(await res.text(), '| traceparent sent on by the mesh, trace in your collector');
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 100)); // the first config may still be on its way
}

ratingsClient.close();
await Promise.all([productpage.close(), reviews.close(), ratings.close()]);
await server.close();
await control.close();
await sdk.shutdown(); // flushes the last spans
