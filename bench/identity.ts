// SVID issuance on its own: `npm run bench:identity [-- --rounds 5 --burst 500]`. The same case
// is part of `npm run bench` (area "identity").
import { parseArgs } from 'node:util';
import { runIdentityCase } from './cases/identity.js';
import { formatTable } from './lib/table.js';

const { values } = parseArgs({ options: { rounds: { type: 'string' }, burst: { type: 'string' } } });
const rows = await runIdentityCase({ rounds: Number(values.rounds ?? 5), burst: Number(values.burst ?? 500) });
process.stdout.write(`${formatTable(rows)}\n`);
