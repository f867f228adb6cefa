// One cold start, measured inside a fresh `node` process with no loader (no tsx), as an app
// starts: import, set up, first request, then print one JSON line. Spawned by bench/cold-start.ts.
//
//   node bench/cold-start-child.mjs <variant> <json options>
//
// Times are performance.now() readings, i.e. ms since this process started (Node's own
// bootstrap included, the same for every variant). RSS is read right after the first answer.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [variant, raw] = process.argv.slice(2);
const opts = JSON.parse(raw ?? '{}');

const json = {
  serialize: (v) => Buffer.from(JSON.stringify(v ?? null)),
  deserialize: (b) => JSON.parse(b.toString('utf8') || 'null'),
};
const ECHO = { Call: { path: '/meshlet.demo.Echo/Call', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize } };

function unary(client) {
  return new Promise((resolve, reject) => client.Call({}, (err, reply) => (err ? reject(err) : resolve(reply))));
}

async function run() {
  const t = {};
  let answer;
  let close = async () => {};
  switch (variant) {
    case 'undici':
    case 'undici (A/A)': {
      const { fetch } = await import('undici');
      t.imported = performance.now();
      t.ready = t.imported;
      answer = await (await fetch(`http://127.0.0.1:${opts.originPort}/`)).text();
      break;
    }
    case 'meshlet HTTP': {
      const { createMesh } = await import(opts.dist);
      t.imported = performance.now();
      const mesh = await createMesh({ controlPlane: opts.controlPlane, initialFetchTimeoutMs: 10_000 });
      t.ready = performance.now();
      answer = await (await mesh.fetch('http://hello/')).text();
      close = () => mesh.close();
      break;
    }
    case 'grpc-js': {
      const grpc = require('@grpc/grpc-js');
      t.imported = performance.now();
      const Client = grpc.makeGenericClientConstructor(ECHO, 'meshlet.demo.Echo');
      const client = new Client(`127.0.0.1:${opts.echoPort}`, grpc.credentials.createInsecure());
      t.ready = performance.now();
      answer = (await unary(client)).from;
      close = async () => client.close();
      break;
    }
    case 'grpc-js + undici': {
      // What an app that speaks both has loaded before any mesh: the baseline of meshlet gRPC
      // (whose mesh also carries undici for its HTTP side).
      const grpc = require('@grpc/grpc-js');
      await import('undici');
      t.imported = performance.now();
      const Client = grpc.makeGenericClientConstructor(ECHO, 'meshlet.demo.Echo');
      const client = new Client(`127.0.0.1:${opts.echoPort}`, grpc.credentials.createInsecure());
      t.ready = performance.now();
      answer = (await unary(client)).from;
      close = async () => client.close();
      break;
    }
    case 'grpc-js-xds': {
      const grpc = require('@grpc/grpc-js');
      process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
        xds_servers: [{ server_uri: opts.controlPlane, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
        node: { id: `cold-start-${process.pid}`, cluster: 'bench', locality: {} },
      });
      require('@grpc/grpc-js-xds').register();
      t.imported = performance.now();
      const Client = grpc.makeGenericClientConstructor(ECHO, 'meshlet.demo.Echo');
      const client = new Client(`xds:///${opts.echoHost}:9090`, grpc.credentials.createInsecure());
      t.ready = performance.now();
      answer = (await unary(client)).from;
      close = async () => client.close();
      break;
    }
    case 'meshlet gRPC': {
      const { createMesh } = await import(opts.dist);
      const grpc = require('@grpc/grpc-js');
      t.imported = performance.now();
      const mesh = await createMesh({ controlPlane: opts.controlPlane, initialFetchTimeoutMs: 10_000 });
      t.ready = performance.now();
      const Client = grpc.makeGenericClientConstructor(ECHO, 'meshlet.demo.Echo');
      const client = mesh.grpc.client(Client, 'echo:9090');
      answer = (await unary(client)).from;
      close = async () => { client.close(); await mesh.close(); };
      break;
    }
    default:
      throw new Error(`unknown variant ${variant}`);
  }
  t.first = performance.now();
  const usage = process.cpuUsage();
  // CPU time to the first answer: steadier than wall time on a loaded machine.
  t.cpu = (usage.user + usage.system) / 1000;
  const rss = process.memoryUsage().rss;
  await close();
  process.stdout.write(`${JSON.stringify({ ...t, rss, answer })}\n`);
  process.exit(0);
}

run().catch((err) => {
  process.stderr.write(`${variant}: ${err?.stack ?? err}\n`);
  process.exit(1);
});
