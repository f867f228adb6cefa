/**
 * One pass over a composed YAML document that makes aliases safe to follow: each alias is
 * resolved to its anchor once (yaml's `Alias.resolve` walks the whole document per call, which
 * made an 18 KB alias bomb cost 12 s of validation), the nodes aliases add and the depth they
 * reach are bounded by {@link ConfigLimits}, an alias inside its own anchor is a cycle, and map
 * keys are checked for duplicates in linear time (yaml's `uniqueKeys` is quadratic per map).
 */
import type { ConfigLimits } from './limits.js';
import { isAlias, isMap, isPair, isScalar, isSeq, type Alias, type Document, type Node } from './yaml-lib.js';

/** A problem found in a document, at `node`. */
export interface NodeProblem {
  node: Node;
  code: 'MESHLET_ERR_CONFIG_YAML' | 'MESHLET_ERR_CONFIG_LIMIT';
  message: string;
}

/** The aliases of a document and their targets, or the first problem found. */
export interface NodeCheck {
  aliases: Map<Alias, Node>;
  problem?: NodeProblem;
}

/**
 * Checks a composed document against the alias and key rules.
 *
 * @example
 * ```ts
 * const { aliases, problem } = checkNodes(doc, DEFAULT_CONFIG_LIMITS);
 * ```
 */
export function checkNodes(doc: Document.Parsed, limits: ConfigLimits): NodeCheck {
  const anchors = new Map<string, Node>();
  const aliases = new Map<Alias, Node>();
  const open = new Set<Node>();
  // Size = nodes the subtree stands for once aliases are expanded; height = collection levels.
  const size = new Map<Node, number>();
  const height = new Map<Node, number>();
  let added = 0;
  let problem: NodeProblem | undefined;

  // Recursion is bounded: tokenize() rejected documents nested deeper than limits.maxDepth.
  const visit = (node: Node, depth: number): void => {
    if (problem) return;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (!target) problem = { node, code: 'MESHLET_ERR_CONFIG_YAML', message: `invalid YAML: alias *${node.source} names no anchor before it` };
      else if (open.has(target)) problem = { node, code: 'MESHLET_ERR_CONFIG_YAML', message: `invalid YAML: alias *${node.source} is inside its own anchor (a cycle)` };
      else {
        aliases.set(node, target);
        const s = size.get(target) ?? 1;
        const h = height.get(target) ?? 0;
        added += s;
        size.set(node, s);
        height.set(node, h);
        if (added > limits.maxAliasNodes) problem = { node, code: 'MESHLET_ERR_CONFIG_LIMIT', message: `aliases expand to more than ${limits.maxAliasNodes} nodes` };
        else if (depth + h > limits.maxDepth) problem = { node, code: 'MESHLET_ERR_CONFIG_LIMIT', message: `alias *${node.source} expands to nesting deeper than ${limits.maxDepth} levels` };
      }
      return;
    }
    if (node.anchor) anchors.set(node.anchor, node);
    if (!isMap(node) && !isSeq(node)) return;
    open.add(node);
    let s = 1;
    let h = 0;
    const child = (c: unknown): void => {
      if (!c || problem) return;
      visit(c as Node, depth + 1);
      s += size.get(c as Node) ?? 1;
      h = Math.max(h, height.get(c as Node) ?? 0);
    };
    if (isMap(node)) {
      const keys = new Set<string>();
      for (const pair of node.items) {
        const k = pair.key as Node | null;
        if (isScalar(k)) {
          const id = `${typeof k.value}:${String(k.value)}`;
          if (keys.has(id)) {
            problem = { node: k, code: 'MESHLET_ERR_CONFIG_YAML', message: 'invalid YAML: Map keys must be unique' };
            return;
          }
          keys.add(id);
        }
        child(k);
        child(pair.value);
      }
    } else {
      for (const item of node.items) {
        if (isPair(item)) {
          child(item.key);
          child(item.value);
        } else child(item);
      }
    }
    open.delete(node);
    size.set(node, s);
    height.set(node, h + 1);
  };
  if (doc.contents) visit(doc.contents as Node, 0);
  return problem ? { aliases, problem } : { aliases };
}
