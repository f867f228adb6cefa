// JWT authentication cost per request, one run, variants interleaved: meshlet's jwt_authn filter
// with its verified-token cache off (extract, parse, issuer/time/audience checks, jose jwtVerify
// with the key already imported) for ES256 and RS256, next to jose's jwtVerify alone on the same
// token and key set (what the filter adds); the same token again with the cache on (what the
// control server emits: Envoy's jwt_cache_config); a missing token (allow_missing) and a
// malformed one; plus an A/A row (the ES256 filter measured twice as two variants) that must
// agree within ±3% or the run is void.
//
//   node --import tsx bench/jwt.ts            (JWT_ITERATIONS=4000 by default, 7 passes)
import { createLocalJWKSet, jwtVerify } from 'jose';
import { bearer, filterFor, makeIssuer, requestAuthn, view } from '../test/helpers/jwt.js';
import { JwtAuthnFilter } from '../src/security/jwt/filter.js';

const N = Number(process.env.JWT_ITERATIONS ?? 4000);
const PASSES = Number(process.env.JWT_PASSES ?? 7);

const es = await makeIssuer('https://es.example.com', 'ES256');
const rs = await makeIssuer('https://rs.example.com', 'RS256');
const cached = filterFor([requestAuthn([{ issuer: es.iss, jwks: es.jwks, audiences: ['reviews'] }, { issuer: rs.iss, jwks: rs.jwks }])]);
const model = cached.config;
const filter = new JwtAuthnFilter({
  ...model,
  providers: Object.fromEntries(Object.entries(model.providers).map(([k, p]) => [k, { ...p, jwtCacheSize: 0 }])),
});
const esToken = await es.sign({ sub: 'alice' });
const rsToken = await rs.sign({ sub: 'bob' });
const esView = view(bearer(esToken));
const rsView = view(bearer(rsToken));
const noneView = view();
const badView = view(bearer(`${esToken.split('.')[0]}.e30`));
const esKeys = createLocalJWKSet(JSON.parse(es.jwks));
const rsKeys = createLocalJWKSet(JSON.parse(rs.jwks));

type Variant = { name: string; run: () => boolean | Promise<boolean> };
const variants: Variant[] = [
  { name: 'filter ES256 (A)', run: async () => (await filter.authenticate(esView)).ok },
  { name: 'filter ES256 (A′, A/A)', run: async () => (await filter.authenticate(esView)).ok },
  { name: 'jose jwtVerify ES256 alone', run: async () => (await jwtVerify(esToken, esKeys, { issuer: es.iss, audience: 'reviews' })).payload.sub === 'alice' },
  { name: 'filter RS256', run: async () => (await filter.authenticate(rsView)).ok },
  { name: 'jose jwtVerify RS256 alone', run: async () => (await jwtVerify(rsToken, rsKeys, { issuer: rs.iss })).payload.sub === 'bob' },
  { name: 'filter ES256, token cache hit', run: async () => (await cached.authenticate(esView)).ok },
  { name: 'filter RS256, token cache hit', run: async () => (await cached.authenticate(rsView)).ok },
  // Synchronous: no token anywhere is answered without a promise.
  { name: 'filter, no token (allow_missing)', run: () => (filter.authenticate(noneView) as { ok: boolean }).ok },
  { name: 'filter, malformed token (refused)', run: async () => !(await filter.authenticate(badView)).ok },
];

async function measure(v: Variant, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const r = v.run();
    if (!(r instanceof Promise ? await r : r)) throw new Error(`${v.name}: unexpected result`);
  }
  return Number(process.hrtime.bigint() - t0) / n / 1000;
}

for (const v of variants) await measure(v, Math.max(200, N / 10)); // warm-up: key import, JIT
const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
for (let pass = 0; pass < PASSES; pass++) {
  // Rotate the order each pass so no variant always runs first.
  for (let k = 0; k < variants.length; k++) {
    const v = variants[(k + pass) % variants.length] as Variant;
    samples.get(v.name)!.push(await measure(v, N));
  }
}
const f = (x: number): string => x.toFixed(x < 10 ? 2 : 1);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const rows = ['| variant | µs/verify (median) | min–max | vs jose alone |', '| --- | --- | --- | --- |'];
const m = (name: string): number => median(samples.get(name)!);
for (const v of variants) {
  const xs = samples.get(v.name)!;
  const base = v.name.includes('cache hit') ? undefined : v.name.includes('RS256') ? m('jose jwtVerify RS256 alone') : v.name.includes('ES256') ? m('jose jwtVerify ES256 alone') : undefined;
  rows.push(`| ${v.name} | ${f(median(xs))} | ${f(Math.min(...xs))}–${f(Math.max(...xs))} | ${base && !v.name.startsWith('jose') ? `${(median(xs) / base).toFixed(2)}×` : ''} |`);
}
const aa = m('filter ES256 (A′, A/A)') / m('filter ES256 (A)') - 1;
rows.push('', `A/A: ${(aa * 100).toFixed(1)}% (${Math.abs(aa) <= 0.03 ? 'valid' : 'VOID: more than ±3%, rerun on a quieter machine'})`);
rows.push(`node ${process.version}, ${N} iterations × ${PASSES} passes, sequential awaits (one request at a time)`);
process.stdout.write(`${rows.join('\n')}\n`);
