/**
 * The access log filter: a small, safe subset of CEL (what Istio's Telemetry
 * `accessLogging[].filter.expression` hands Envoy's `envoy.access_loggers.extension_filters.cel`
 * filter, and what people write there): comparisons of Envoy's request/response attributes with
 * literals, joined by `&&`, `||`, `!` and parentheses, and `startsWith`/`endsWith`/`contains`
 * on string attributes. Anything else is refused with MESHLET_ERR_ACCESS_LOG_FILTER naming the
 * position, never silently accepted. The parser is bounded (length, tokens, nesting) and the
 * compiled filter is a closure tree: no eval, no regex.
 *
 * Attributes (Envoy's names, docs/root/intro/arch_overview/advanced/attributes.rst):
 * `response.code`, `response.grpc_status`, `response.size`, `response.flags` (meshlet: the flags
 * text, `-` when none), `request.method`, `request.path`, `request.url_path`, `request.host`,
 * `request.protocol`, `request.id`, `request.size`, `request.duration_ms` (meshlet: milliseconds
 * as a number), `request.headers['name']`, `connection.mtls`, `source.principal`,
 * `upstream.address`, `xds.cluster_name`, `xds.route_name`, `direction` (`inbound`|`outbound`).
 */
import { meshError } from '../errors.js';
import type { AccessLogEntry } from './access-log.js';

/** A compiled filter: true when the entry is logged. */
export type AccessLogFilter = (entry: AccessLogEntry) => boolean;

const MAX_LENGTH = 1024;
const MAX_TOKENS = 256;
const MAX_DEPTH = 16;

type Value = number | string | boolean | undefined;
type Getter = (e: AccessLogEntry) => Value;
type Kind = 'number' | 'string' | 'bool';

const ATTRIBUTES: Record<string, { kind: Kind; get: Getter }> = {
  'response.code': { kind: 'number', get: (e) => e.response_code },
  'response.grpc_status': { kind: 'number', get: (e) => e.grpc_status ?? undefined },
  'response.size': { kind: 'number', get: (e) => e.bytes_sent },
  'response.flags': { kind: 'string', get: (e) => e.response_flags },
  'request.method': { kind: 'string', get: (e) => e.method },
  'request.path': { kind: 'string', get: (e) => e.path },
  'request.url_path': { kind: 'string', get: (e) => { const q = e.path.indexOf('?'); return q < 0 ? e.path : e.path.slice(0, q); } },
  'request.host': { kind: 'string', get: (e) => e.authority },
  'request.protocol': { kind: 'string', get: (e) => e.protocol },
  'request.id': { kind: 'string', get: (e) => e.request_id ?? undefined },
  'request.size': { kind: 'number', get: (e) => e.bytes_received },
  'request.duration_ms': { kind: 'number', get: (e) => e.duration },
  'connection.mtls': { kind: 'bool', get: (e) => e.downstream_peer_principal !== null },
  'source.principal': { kind: 'string', get: (e) => e.downstream_peer_principal ?? undefined },
  'upstream.address': { kind: 'string', get: (e) => e.upstream_host ?? undefined },
  'xds.cluster_name': { kind: 'string', get: (e) => e.upstream_cluster ?? undefined },
  'xds.route_name': { kind: 'string', get: (e) => e.route_name ?? undefined },
  direction: { kind: 'string', get: (e) => e.direction },
};

interface Token {
  t: 'num' | 'str' | 'id' | 'op' | 'end';
  v: string;
  at: number;
}

function fail(expr: string, at: number, why: string): never {
  throw meshError('MESHLET_ERR_ACCESS_LOG_FILTER', `access log filter ${JSON.stringify(expr.length > 80 ? `${expr.slice(0, 80)}…` : expr)} at ${at}: ${why}`);
}

const OPS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', '.', ','];

function tokenize(expr: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    if (out.length >= MAX_TOKENS) fail(expr, i, `more than ${MAX_TOKENS} tokens`);
    const c = expr[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    const start = i;
    if (c >= '0' && c <= '9') {
      while (i < expr.length && expr[i]! >= '0' && expr[i]! <= '9') i++;
      if (expr[i] === 'u') i++; // CEL uint literal
      out.push({ t: 'num', v: expr.slice(start, i).replace('u', ''), at: start });
      continue;
    }
    if (c === '"' || c === "'") {
      i++;
      let s = '';
      while (i < expr.length && expr[i] !== c) {
        if (expr[i] === '\\') fail(expr, i, 'escapes in string literals are not supported');
        s += expr[i++];
      }
      if (i >= expr.length) fail(expr, start, 'unterminated string');
      i++;
      out.push({ t: 'str', v: s, at: start });
      continue;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_') {
      while (i < expr.length && /[A-Za-z0-9_]/.test(expr[i]!)) i++;
      out.push({ t: 'id', v: expr.slice(start, i), at: start });
      continue;
    }
    const op = OPS.find((o) => expr.startsWith(o, i));
    if (!op) fail(expr, i, `unexpected ${JSON.stringify(c)}`);
    out.push({ t: 'op', v: op, at: i });
    i += op.length;
  }
  out.push({ t: 'end', v: '', at: expr.length });
  return out;
}

interface Node {
  kind: Kind;
  eval: (e: AccessLogEntry) => Value;
}

class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly expr: string, private readonly tokens: Token[]) {}

  private peek(): Token { return this.tokens[this.i]!; }
  private next(): Token { return this.tokens[this.i++]!; }
  private isOp(v: string): boolean { const t = this.peek(); return t.t === 'op' && t.v === v; }
  private expect(v: string): void {
    const t = this.next();
    if (t.t !== 'op' || t.v !== v) fail(this.expr, t.at, `expected ${JSON.stringify(v)}`);
  }

  parse(): Node {
    const n = this.or();
    const t = this.peek();
    if (t.t !== 'end') fail(this.expr, t.at, `unexpected ${JSON.stringify(t.v)}`);
    if (n.kind !== 'bool') fail(this.expr, 0, 'the expression must be a condition (true or false)');
    return n;
  }

  private nest<T>(f: () => T): T {
    if (++this.depth > MAX_DEPTH) fail(this.expr, this.peek().at, `nested deeper than ${MAX_DEPTH}`);
    try { return f(); } finally { this.depth--; }
  }

  private or(): Node {
    let left = this.and();
    while (this.isOp('||')) {
      const at = this.next().at;
      const l = this.bool(left, at), r = this.bool(this.and(), at);
      left = { kind: 'bool', eval: (e) => l.eval(e) === true || r.eval(e) === true };
    }
    return left;
  }

  private and(): Node {
    let left = this.unary();
    while (this.isOp('&&')) {
      const at = this.next().at;
      const l = this.bool(left, at), r = this.bool(this.unary(), at);
      left = { kind: 'bool', eval: (e) => l.eval(e) === true && r.eval(e) === true };
    }
    return left;
  }

  private bool(n: Node, at: number): Node {
    if (n.kind !== 'bool') fail(this.expr, at, '&&, || and ! need conditions on both sides');
    return n;
  }

  private unary(): Node {
    if (this.isOp('!')) {
      const at = this.next().at;
      const n = this.bool(this.nest(() => this.unary()), at);
      return { kind: 'bool', eval: (e) => n.eval(e) !== true };
    }
    return this.comparison();
  }

  private comparison(): Node {
    const left = this.operand();
    const t = this.peek();
    if (t.t !== 'op' || !['==', '!=', '<', '<=', '>', '>='].includes(t.v)) return left;
    this.next();
    const right = this.operand();
    if (left.kind !== right.kind) fail(this.expr, t.at, `cannot compare a ${left.kind} with a ${right.kind}`);
    if (left.kind === 'bool' && t.v !== '==' && t.v !== '!=') fail(this.expr, t.at, `${t.v} does not apply to booleans`);
    const l = left.eval, r = right.eval;
    const cmp = (f: (a: number | string | boolean, b: number | string | boolean) => boolean) => (e: AccessLogEntry): boolean => {
      const a = l(e), b = r(e);
      return a !== undefined && b !== undefined && f(a, b); // a missing attribute makes the comparison false (CEL: error → not logged)
    };
    switch (t.v) {
      case '==': return { kind: 'bool', eval: cmp((a, b) => a === b) };
      case '!=': return { kind: 'bool', eval: cmp((a, b) => a !== b) };
      case '<': return { kind: 'bool', eval: cmp((a, b) => a < b) };
      case '<=': return { kind: 'bool', eval: cmp((a, b) => a <= b) };
      case '>': return { kind: 'bool', eval: cmp((a, b) => a > b) };
      default: return { kind: 'bool', eval: cmp((a, b) => a >= b) };
    }
  }

  private operand(): Node {
    const t = this.next();
    switch (t.t) {
      case 'num': {
        const n = Number(t.v);
        if (!Number.isSafeInteger(n)) fail(this.expr, t.at, 'number out of range');
        return { kind: 'number', eval: () => n };
      }
      case 'str': return { kind: 'string', eval: () => t.v };
      case 'op':
        if (t.v === '(') {
          const n = this.nest(() => this.or());
          this.expect(')');
          return n;
        }
        return fail(this.expr, t.at, `unexpected ${JSON.stringify(t.v)}`);
      case 'id':
        if (t.v === 'true' || t.v === 'false') { const b = t.v === 'true'; return { kind: 'bool', eval: () => b }; }
        return this.attribute(t);
      default:
        return fail(this.expr, t.at, 'unexpected end of expression');
    }
  }

  private attribute(first: Token): Node {
    let name = first.v;
    while (this.isOp('.')) {
      this.next();
      const part = this.next();
      if (part.t !== 'id') fail(this.expr, part.at, 'expected a name after "."');
      if (this.isOp('(')) return this.method(name, part);
      name += `.${part.v}`;
    }
    if (name === 'request.headers') {
      this.expect('[');
      const key = this.next();
      if (key.t !== 'str') fail(this.expr, key.at, "request.headers takes a quoted name: request.headers['x-user']");
      this.expect(']');
      const header = key.v.toLowerCase();
      return { kind: 'string', eval: (e) => e.requestHeader?.(header) };
    }
    const attr = ATTRIBUTES[name];
    if (!attr) fail(this.expr, first.at, `unknown or unsupported attribute ${name} (supported: ${Object.keys(ATTRIBUTES).join(', ')}, request.headers['…'])`);
    return { kind: attr.kind, eval: attr.get };
  }

  private method(target: string, fn: Token): Node {
    const attr = ATTRIBUTES[target];
    if (!attr || attr.kind !== 'string') fail(this.expr, fn.at, `${fn.v}() needs a string attribute, not ${target}`);
    if (fn.v !== 'startsWith' && fn.v !== 'endsWith' && fn.v !== 'contains') fail(this.expr, fn.at, `unsupported function ${fn.v} (supported: startsWith, endsWith, contains)`);
    this.expect('(');
    const arg = this.next();
    if (arg.t !== 'str') fail(this.expr, arg.at, `${fn.v}() takes one string literal`);
    this.expect(')');
    const get = attr.get, s = arg.v;
    const test = fn.v === 'startsWith' ? (v: string) => v.startsWith(s) : fn.v === 'endsWith' ? (v: string) => v.endsWith(s) : (v: string) => v.includes(s);
    return { kind: 'bool', eval: (e) => { const v = get(e); return typeof v === 'string' && test(v); } };
  }
}

/**
 * Compiles a filter expression; throws MESHLET_ERR_ACCESS_LOG_FILTER for anything outside the
 * supported subset.
 *
 * @example
 * ```ts
 * const errorsOnly = compileAccessLogFilter('response.code >= 400 || response.flags != "-"');
 * if (errorsOnly(entry)) sink(entry);
 * ```
 */
export function compileAccessLogFilter(expression: string): AccessLogFilter {
  if (typeof expression !== 'string' || expression.trim() === '') fail(String(expression), 0, 'empty expression');
  if (expression.length > MAX_LENGTH) fail(expression, MAX_LENGTH, `longer than ${MAX_LENGTH} characters`);
  const node = new Parser(expression, tokenize(expression)).parse();
  return (entry) => node.eval(entry) === true;
}
