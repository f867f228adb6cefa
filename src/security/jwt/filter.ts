/**
 * The jwt_authn filter compiled from a {@link JwtAuthnModel}: rules (first path match decides),
 * requirement trees (Envoy's verifier.cc: provider, requires_any, requires_all, allow_missing,
 * allow_missing_or_failed) and per-provider key sets, all built once per config. `authenticate`
 * runs per request and says either how to continue (the verified principal and claims for
 * authorization, the header changes to make) or the refusal to send.
 */
import type { JwtAuthnModel, JwtProviderModel, JwtRequirementModel } from '../../core/model/index.js';
import type { InboundAuthView, InboundRequestView, InboundVerdict } from '../../core/inbound.js';
import { compilePathMatch } from '../../core/matchers.js';
import { Authenticator, TokenCache, type ProviderRuntime, type VerifyContext } from './authenticator.js';
import { Extractor } from './extract.js';
import { JwksCache } from './keys.js';
import { refusal, type JwtStatus } from './status.js';
import { sanitizeAudience } from './token.js';

/** What the inbound policy does after JWT authentication. */
export type JwtAuthnResult =
  | {
    readonly ok: true;
    /** Set when a token verified: `<iss>/<sub>` and the verified claims. */
    readonly auth?: InboundAuthView;
    /** Remove these request headers first (the token unless forwarded, spoofable claim headers)… */
    readonly removeHeaders: readonly string[];
    /** …then set these (claim_to_headers, forward_payload_header). */
    readonly setHeaders: readonly (readonly [string, string])[];
    /** Query parameters that carried a token that is not forwarded. */
    readonly removeQueryParams: readonly string[];
  }
  | { readonly ok: false; readonly verdict: InboundVerdict };

type Node = (ctx: VerifyContext) => Promise<JwtStatus>;

/**
 * What a requirement says about a request that carries no token anywhere, computed once per
 * config: provider → missing, allow_* → pass, OR/AND as their verifiers aggregate. Lets such
 * requests (health checks, public paths) be answered without a promise.
 */
function missingStatus(req: JwtRequirementModel): JwtStatus {
  switch (req.kind) {
    case 'provider': return 'JwtMissed';
    case 'allow_missing': case 'allow_missing_or_failed': return 'Ok';
    case 'all': {
      for (const r of req.requirements) {
        const s = missingStatus(r);
        if (s !== 'Ok') return s;
      }
      return 'Ok';
    }
    case 'any':
      return req.requirements.some((r) => missingStatus(r) === 'Ok') ? 'Ok' : 'JwtMissed';
  }
}

/** OR: the first child that passes; otherwise the most telling failure (Envoy's AnyVerifier aggregation). */
function anyOf(children: readonly Node[]): Node {
  return async (ctx) => {
    let final: JwtStatus = 'JwtMissed';
    let unknownIssuer = false;
    for (const child of children) {
      const s = await child(ctx);
      if (s === 'Ok') return 'Ok';
      if (s === 'JwtUnknownIssuer') unknownIssuer = true;
      else if (s !== 'JwtMissed') final = s;
    }
    return final === 'JwtMissed' && unknownIssuer ? 'JwtUnknownIssuer' : final;
  };
}

function allOf(children: readonly Node[]): Node {
  return async (ctx) => {
    for (const child of children) {
      const s = await child(ctx);
      if (s !== 'Ok') return s;
    }
    return 'Ok';
  };
}

/**
 * A compiled jwt_authn filter.
 *
 * @example
 * ```ts
 * const filter = new JwtAuthnFilter(listener.httpFilters[0].config.jwtAuthn, mesh.jwksCache);
 * const result = await filter.authenticate(view);
 * if (!result.ok) return reply(result.verdict);
 * view.auth = result.auth;
 * ```
 */
export class JwtAuthnFilter {
  private readonly rules: Array<{ match: (path: string) => boolean; verify?: Node; missing: JwtStatus }> = [];
  /** Every provider's token locations: is there any token at all? */
  private readonly anyToken: Extractor;
  private readonly providers = new Map<string, ProviderRuntime>();
  private readonly all: ProviderRuntime[] = [];
  private readonly sanitize: readonly string[];
  private readonly pass: JwtAuthnResult;

  constructor(
    private readonly model: JwtAuthnModel,
    cache: JwksCache = new JwksCache(),
    private readonly now: () => number = Date.now,
  ) {
    for (const p of Object.values(model.providers)) {
      const rt: ProviderRuntime = {
        model: p,
        keys: cache.keySet(p.jwks),
        audiences: new Set(p.audiences.map(sanitizeAudience)),
        ...(p.jwtCacheSize > 0 ? { tokens: new TokenCache(p.jwtCacheSize) } : {}),
      };
      this.providers.set(p.name, rt);
      this.all.push(rt);
    }
    this.anyToken = new Extractor(this.all.map((p) => p.model));
    this.sanitize = this.anyToken.sanitize;
    this.pass = { ok: true, removeHeaders: this.sanitize, setHeaders: [], removeQueryParams: [] };
    for (const rule of model.rules) {
      this.rules.push({
        match: compilePathMatch(rule.match),
        ...(rule.requires ? { verify: this.node(rule.requires, this.all) } : {}),
        missing: rule.requires ? missingStatus(rule.requires) : 'Ok',
      });
    }
  }

  /** The provider for a token's issuer among `scope`: the first with that issuer, else one without any. */
  private byIssuer(scope: readonly ProviderRuntime[]): (iss: string) => ProviderRuntime | undefined {
    return (iss) => scope.find((p) => p.model.issuer === iss) ?? scope.find((p) => p.model.issuer === '');
  }

  private node(req: JwtRequirementModel, scope: readonly ProviderRuntime[]): Node {
    switch (req.kind) {
      case 'provider': {
        const p = this.providers.get(req.provider) as ProviderRuntime;
        const audiences = req.audiences && req.audiences.length > 0 ? new Set(req.audiences.map(sanitizeAudience)) : undefined;
        const auth = new Authenticator(new Extractor([p.model]), p, () => undefined, 'strict', audiences);
        return (ctx) => auth.verify(ctx);
      }
      case 'any': {
        // An allow_* member of an OR list checks the tokens of its sibling providers (Envoy's
        // AnyVerifierImpl `used_providers`), and runs last.
        const siblings = req.requirements.flatMap((r) => (r.kind === 'provider' ? [this.providers.get(r.provider) as ProviderRuntime] : []));
        const regular = req.requirements.filter((r) => r.kind !== 'allow_missing' && r.kind !== 'allow_missing_or_failed');
        const bypass = req.requirements.find((r) => r.kind === 'allow_missing_or_failed') ?? req.requirements.find((r) => r.kind === 'allow_missing');
        const children = regular.map((r) => this.node(r, this.all));
        if (bypass) children.push(this.node(bypass, siblings.length > 0 ? siblings : this.all));
        return anyOf(children);
      }
      case 'all':
        return allOf(req.requirements.map((r) => this.node(r, this.all)));
      case 'allow_missing':
      case 'allow_missing_or_failed': {
        // Outside an OR list there are no siblings: check every provider's tokens, so a present
        // bad token is still refused (stricter than Envoy, which then extracts nothing).
        const auth = new Authenticator(new Extractor(scope.map((p) => p.model)), undefined, this.byIssuer(scope), req.kind);
        return (ctx) => auth.verify(ctx);
      }
    }
  }

  /** The providers and their models (for diagnostics and tests). */
  get config(): JwtAuthnModel {
    return this.model;
  }

  /**
   * Runs the filter for one request. Never throws: every failure is a refusal. Synchronous when
   * nothing needs checking (no rule, CORS preflight, no token anywhere), a promise otherwise.
   */
  authenticate(view: InboundRequestView): JwtAuthnResult | Promise<JwtAuthnResult> {
    const pass = this.pass;
    if (this.model.bypassCorsPreflight && view.method === 'OPTIONS' && view.header('origin') && view.header('access-control-request-method')) return pass;
    const rule = this.rules.find((r) => r.match(view.path));
    if (!rule?.verify) return pass;
    if (this.anyToken.extract(view).length === 0) return rule.missing === 'Ok' ? pass : this.refuse(rule.missing, view);
    return this.verify(rule.verify, view);
  }

  private refuse(status: Exclude<JwtStatus, 'Ok'>, view: InboundRequestView): JwtAuthnResult {
    const uri = `${view.tls ? 'https' : 'http'}://${view.host}${view.path}`;
    return { ok: false, verdict: refusal(status, uri, this.model.stripFailureResponse) };
  }

  private async verify(verify: Node, view: InboundRequestView): Promise<JwtAuthnResult> {
    const ctx: VerifyContext = {
      req: view,
      nowSeconds: Math.floor(this.now() / 1000),
      payloads: [],
      setHeaders: [],
      removeHeaders: new Set(this.sanitize),
      removeParams: new Set(),
    };
    let status: JwtStatus;
    try {
      status = await verify(ctx);
    } catch {
      status = 'JwtVerificationFail';
    }
    if (status !== 'Ok') return this.refuse(status, view);
    const first = ctx.payloads[0]?.payload;
    return {
      ok: true,
      ...(first ? { auth: { principal: `${first.iss ?? ''}/${first.sub ?? ''}`, claims: first } } : {}),
      removeHeaders: [...ctx.removeHeaders],
      setHeaders: ctx.setHeaders,
      removeQueryParams: [...ctx.removeParams],
    };
  }
}

/** Every provider model a filter config names (for {@link JwksCache.retain}). */
export function providersOf(model: JwtAuthnModel): JwtProviderModel[] {
  return Object.values(model.providers);
}
