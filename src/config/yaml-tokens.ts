/**
 * Tokenizes YAML under {@link ConfigLimits} before anything recursive sees it. yaml's lexer and
 * parser are iterative, but its composer recurses per nesting level (a 5,000-deep `[[[…]]]`
 * aborts the process with an out-of-memory error that no `try` catches), and deep flow nesting
 * makes the parser itself slow (1M levels: 6.5 s). So we drive the parser one lexeme at a time,
 * stop at the first flow level, token or document past the limits, and measure each document's
 * block nesting on its CST with an explicit stack.
 */
import type { ConfigLimits } from './limits.js';
import { newLexer, newParser, type CST, type LineCounter } from './yaml-lib.js';

/** A limit the whole text broke; parsing stopped at `offset`. */
export interface TextLimitProblem {
  offset: number;
  message: string;
}

/** The CST documents of a text, or where it broke a limit. */
export interface Tokens {
  tokens: CST.Token[];
  /** Set when tokenizing stopped early; `tokens` is then incomplete and must not be composed. */
  problem?: TextLimitProblem;
  /**
   * Documents nested deeper than the limit, by their 0-based index in the file (the composer
   * yields one document per CST document, in order): the offset where the limit was passed.
   * Their `value` was removed, so they compose as empty documents.
   */
  deep: Map<number, number>;
}

/**
 * Lexes and parses `text` into CST tokens, feeding line starts to `lineCounter`.
 *
 * @example
 * ```ts
 * const { tokens, problem } = tokenize(text, newLineCounter(), DEFAULT_CONFIG_LIMITS);
 * ```
 */
export function tokenize(text: string, lineCounter: LineCounter, limits: ConfigLimits): Tokens {
  const parser = newParser(lineCounter.addNewLine);
  lineCounter.addNewLine(0); // Parser.parse() does this; we call next() ourselves.
  const tokens: CST.Token[] = [];
  const deep = new Map<number, number>();
  let documents = 0;
  let flow = 0;
  const take = (token: CST.Token): TextLimitProblem | undefined => {
    tokens.push(token);
    if (token.type !== 'document') return undefined;
    if (documents === limits.maxDocuments) return { offset: token.offset, message: `more than ${limits.maxDocuments} YAML documents in one file` };
    const at = deeperThan(token.value, limits.maxDepth);
    if (at !== undefined) {
      deep.set(documents, at);
      delete token.value; // composed as an empty document; parseYaml reports it
    }
    documents++;
    return undefined;
  };
  for (const lexeme of newLexer().lex(text)) {
    if (lexeme.length > limits.maxScalarLength) {
      return { tokens, deep, problem: { offset: parser.offset, message: `a scalar of ${lexeme.length} characters is longer than the limit of ${limits.maxScalarLength}` } };
    }
    if (lexeme === '[' || lexeme === '{') {
      if (++flow > limits.maxDepth) return { tokens, deep, problem: { offset: parser.offset, message: `nesting deeper than ${limits.maxDepth} levels` } };
    } else if ((lexeme === ']' || lexeme === '}') && flow > 0) flow--;
    for (const token of parser.next(lexeme)) {
      const problem = take(token);
      if (problem) return { tokens, deep, problem };
    }
  }
  for (const token of parser.end()) {
    const problem = take(token);
    if (problem) return { tokens, deep, problem };
  }
  return { tokens, deep };
}

/** Offset of the first collection nested deeper than `max` (a top-level map is level 1), if any. */
function deeperThan(root: CST.Token | undefined, max: number): number | undefined {
  const stack: Array<[CST.Token, number]> = root ? [[root, 1]] : [];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [token, depth] = top;
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth > max) return token.offset;
    for (const item of token.items) {
      if ('key' in item && item.key) stack.push([item.key, depth + 1]);
      if (item.value) stack.push([item.value, depth + 1]);
    }
  }
  return undefined;
}
