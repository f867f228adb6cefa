// A strict reader of the Prometheus text format for tests: every line must be a HELP, a TYPE
// (before the family's samples, once) or a sample; label values are unescaped; histogram
// buckets must be cumulative and end with +Inf equal to _count.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseLabels(s: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < s.length) {
    const eq = s.indexOf('=', i);
    if (eq < 0) throw new Error(`bad labels in ${line}`);
    const name = s.slice(i, eq);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new Error(`bad label name ${name} in ${line}`);
    if (s[eq + 1] !== '"') throw new Error(`unquoted value in ${line}`);
    let j = eq + 2;
    let value = '';
    for (; j < s.length && s[j] !== '"'; j++) {
      if (s[j] === '\\') {
        const n = s[++j];
        if (n === 'n') value += '\n';
        else if (n === '\\' || n === '"') value += n;
        else throw new Error(`bad escape in ${line}`);
      } else value += s[j];
    }
    if (name in labels) throw new Error(`duplicate label ${name} in ${line}`);
    labels[name] = value;
    i = j + 1;
    if (s[i] === ',') i++;
  }
  return labels;
}

export function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string>; helps: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      const [name, ...rest] = line.slice(7).split(' ');
      helps.set(name!, rest.join(' '));
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (types.has(name!)) throw new Error(`second TYPE for ${name}`);
      if (seen.has(name!)) throw new Error(`TYPE after samples of ${name}`);
      types.set(name!, type!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`bad line: ${line}`);
    const name = m[1]!;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    seen.add(types.has(family) ? family : name);
    const raw = m[3]!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    if (Number.isNaN(value) && raw !== 'NaN') throw new Error(`bad value: ${line}`);
    samples.push({ name, labels: m[2] ? parseLabels(m[2], line) : {}, value });
  }
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const bySeries = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le: _le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      bySeries.set(key, [...(bySeries.get(key) ?? []), s]);
    }
    for (const [key, buckets] of bySeries) {
      for (let i = 1; i < buckets.length; i++) if (buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`${family} buckets not cumulative`);
      const last = buckets[buckets.length - 1]!;
      if (last.labels['le'] !== '+Inf') throw new Error(`${family} last bucket is not +Inf`);
      const count = samples.find((s) => s.name === `${family}_count` && JSON.stringify(s.labels) === key);
      if (!count || count.value !== last.value) throw new Error(`${family}_count differs from the +Inf bucket`);
    }
  }
  return { samples, types, helps };
}
