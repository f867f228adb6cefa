/**
 * Helpers shared by the per-type validators: decoding, durations, fractions, regexes, string
 * matchers, header mutations and metadata. Each takes the field path of what it reads and pushes
 * `"<path>: <problem>"` onto an error list, so a validator reports every problem in one pass.
 */
import type protobuf from 'protobufjs';
import { compileFullMatch, compileRewrite, type FullMatchRegex, type RewriteRegex } from '../../internal/regex.js';
import { messageNameOf } from '../type-urls.js';
import { decode } from '../wire/decode.js';
import { structToJson, type JsonObject } from '../struct.js';
import type { Fraction, HeaderAppendAction, HeaderToAddModel, RegexRewriteModel, StringMatchModel } from '../../core/model/index.js';
import type {
  AnyProto, DurationProto, FractionalPercentProto, HeaderValueOptionProto, MetadataProto, RegexRewriteProto, StringMatcherProto,
} from './proto-types.js';

/** How every xDS message is turned into plain objects (see proto-types.ts). */
export const TO_OBJECT_OPTIONS: protobuf.IConversionOptions = { longs: String, enums: String, oneofs: true, defaults: false };

/**
 * Decodes protobuf bytes of a fully qualified message type to a plain object, in the form
 * protobufjs' `toObject(…, TO_OBJECT_OPTIONS)` gives (table-driven, so a client never loads
 * protobufjs: see src/xds/wire/schema.ts). Throws on malformed input; callers turn that into
 * MESHLET_ERR_XDS_DECODE.
 */
export function decodeMessage<T>(fullName: string, bytes: Uint8Array): T {
  return decode<T>(fullName, bytes);
}

/** Decodes an `Any` whose type URL is expected; pushes an error and returns undefined otherwise. */
export function decodeAny<T>(any: AnyProto | undefined, expectedTypeUrl: string, path: string, errors: string[]): T | undefined {
  if (!any?.type_url) {
    errors.push(`${path}: missing typed config`);
    return undefined;
  }
  if (any.type_url !== expectedTypeUrl) {
    errors.push(`${path}: unexpected type_url ${any.type_url} (want ${expectedTypeUrl})`);
    return undefined;
  }
  try {
    return decodeMessage<T>(messageNameOf(expectedTypeUrl), any.value ?? new Uint8Array());
  } catch (err) {
    errors.push(`${path}: cannot decode ${messageNameOf(expectedTypeUrl)}: ${(err as Error).message}`);
    return undefined;
  }
}

const MAX_DURATION_SECONDS = 315_576_000_000;

/** google.protobuf.Duration → ms; `undefined` when unset. Negative or out-of-range is an error. */
export function durationMs(d: DurationProto | undefined, path: string, errors: string[]): number | undefined {
  if (d === undefined || d === null) return undefined;
  const seconds = Number(d.seconds ?? 0);
  const nanos = d.nanos ?? 0;
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > MAX_DURATION_SECONDS || nanos < 0 || nanos > 999_999_999) {
    errors.push(`${path}: duration out of range (${String(d.seconds ?? 0)}s ${nanos}ns)`);
    return undefined;
  }
  return seconds * 1000 + Math.floor(nanos / 1_000_000);
}

const DENOMINATORS = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 } as const;

/**
 * FractionalPercent → {@link Fraction}. Unset means `fallback`. Envoy caps a numerator above
 * its denominator at 100%, and so do we.
 */
export function fraction(fp: FractionalPercentProto | undefined, path: string, errors: string[], fallback: Fraction = FULL): Fraction {
  if (fp === undefined || fp === null) return fallback;
  const denominator = DENOMINATORS[(fp.denominator ?? 'HUNDRED') as keyof typeof DENOMINATORS];
  if (denominator === undefined) {
    errors.push(`${path}.denominator: unknown value ${String(fp.denominator)}`);
    return fallback;
  }
  return { numerator: Math.min(fp.numerator ?? 0, denominator), denominator };
}

/** 100 %. */
export const FULL: Fraction = Object.freeze({ numerator: 100, denominator: 100 }) as Fraction;

/**
 * Compiles a config regex with RE2 semantics (src/internal/regex.ts). Envoy's safe_regex must
 * match the whole input; a rewrite (`anchored` false) substitutes every match instead. An
 * invalid pattern is an error at `path` (the resource is NACKed), never a RegExp.
 */
export function compileRegex(pattern: string | undefined, path: string, errors: string[], anchored?: true): FullMatchRegex | undefined;
export function compileRegex(pattern: string | undefined, path: string, errors: string[], anchored: false): RewriteRegex | undefined;
export function compileRegex(pattern: string | undefined, path: string, errors: string[], anchored = true): FullMatchRegex | RewriteRegex | undefined {
  if (pattern === undefined || pattern === '') {
    errors.push(`${path}: empty regex`);
    return undefined;
  }
  try {
    return anchored ? compileFullMatch(pattern) : compileRewrite(pattern);
  } catch (err) {
    errors.push(`${path}: invalid regex ${JSON.stringify(pattern)} (RE2 syntax): ${(err as Error).message}`);
    return undefined;
  }
}

/** envoy.type.matcher.v3.StringMatcher → {@link StringMatchModel}. */
export function stringMatcher(sm: StringMatcherProto | undefined, path: string, errors: string[]): StringMatchModel | undefined {
  const ignoreCase = sm?.ignore_case === true;
  switch (sm?.match_pattern) {
    case 'exact': return { kind: 'exact', value: sm.exact ?? '', ignoreCase };
    case 'prefix': return { kind: 'prefix', value: sm.prefix ?? '', ignoreCase };
    case 'suffix': return { kind: 'suffix', value: sm.suffix ?? '', ignoreCase };
    case 'contains': return { kind: 'contains', value: sm.contains ?? '', ignoreCase };
    case 'safe_regex': {
      const regex = compileRegex(sm.safe_regex?.regex, `${path}.safe_regex.regex`, errors);
      return regex ? { kind: 'regex', value: sm.safe_regex?.regex ?? '', regex } : undefined;
    }
    case undefined:
      errors.push(`${path}: no match_pattern set`);
      return undefined;
    default:
      errors.push(`${path}: unsupported match_pattern ${String(sm?.match_pattern)}`);
      return undefined;
  }
}

/** RegexMatchAndSubstitute → {@link RegexRewriteModel}. */
export function regexRewrite(rr: RegexRewriteProto | undefined, path: string, errors: string[]): RegexRewriteModel | undefined {
  if (!rr) return undefined;
  const regex = compileRegex(rr.pattern?.regex, `${path}.pattern.regex`, errors, false);
  return regex ? { regex, substitution: rr.substitution ?? '' } : undefined;
}

const APPEND_ACTIONS: Record<string, HeaderAppendAction> = {
  APPEND_IF_EXISTS_OR_ADD: 'append',
  ADD_IF_ABSENT: 'add_if_absent',
  OVERWRITE_IF_EXISTS_OR_ADD: 'overwrite',
  OVERWRITE_IF_EXISTS: 'overwrite_if_exists',
};

/** A list of HeaderValueOption → {@link HeaderToAddModel}s. */
export function headersToAdd(list: HeaderValueOptionProto[] | undefined, path: string, errors: string[]): HeaderToAddModel[] {
  const out: HeaderToAddModel[] = [];
  for (const [i, option] of (list ?? []).entries()) {
    const p = `${path}[${i}]`;
    const name = option.header?.key ?? '';
    if (name === '') {
      errors.push(`${p}.header.key: empty`);
      continue;
    }
    if (option.append !== undefined && option.append_action !== undefined && option.append_action !== 'APPEND_IF_EXISTS_OR_ADD') {
      errors.push(`${p}: append and append_action are both set`);
      continue;
    }
    let action: HeaderAppendAction = APPEND_ACTIONS[option.append_action ?? 'APPEND_IF_EXISTS_OR_ADD'] ?? 'append';
    // The deprecated BoolValue `append` wins when present (false meant overwrite).
    if (option.append !== undefined) action = option.append.value === false ? 'overwrite' : 'append';
    const value = option.header?.value ?? (option.header?.raw_value ? Buffer.from(option.header.raw_value).toString('latin1') : '');
    out.push({ name: name.toLowerCase(), value, action, keepEmptyValue: option.keep_empty_value === true });
  }
  return out;
}

/** Header names to remove, lower-cased (HTTP header names are case-insensitive). */
export function headersToRemove(list: string[] | undefined): string[] {
  return (list ?? []).map((h) => h.toLowerCase());
}

/** core.v3.Metadata → `{ namespace: json }`. */
export function metadataJson(meta: MetadataProto | undefined): Record<string, JsonObject> {
  const out: Record<string, JsonObject> = {};
  for (const [ns, struct] of Object.entries(meta?.filter_metadata ?? {})) out[ns] = structToJson(struct);
  return out;
}

/** A wrapped uint (UInt32Value / UInt64Value) or `fallback` when unset. */
export function wrapped(v: { value?: number | string } | undefined, fallback: number): number {
  return v === undefined || v === null ? fallback : Number(v.value ?? 0);
}
