// The built CLI (dist/cli/main.js) as a process entry, for benches that measure what users run;
// bin/meshlet.js would pick the sources in a checkout.
const { main } = await import(new URL('../../dist/cli/main.js', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
