import { DEFAULT_CONFIG_LIMITS, formatBytes, type ConfigLimits } from './limits.js';
import type { Diagnostic } from './types.js';
import { checkNodes } from './yaml-check.js';
import { isScalar, newComposer, newLineCounter, type Alias, type Document, type LineCounter, type Node } from './yaml-lib.js';
import { tokenize } from './yaml-tokens.js';

const MAX_YAML_ERRORS = 3;

/** One non-empty YAML document of a file, with its AST kept for positions. */
export interface YamlDocument {
  doc: Document.Parsed;
  contents: Node;
  /** 0-based index of the document in its file (counting empty ones), for messages. */
  index: number;
  line: number;
  column: number;
  /** Each alias of the document and the node it names (follow aliases through this, not `Alias.resolve`). */
  aliases: ReadonlyMap<Alias, Node>;
}

/** A parsed YAML file: its documents, a line counter for positions, and syntax diagnostics. */
export interface YamlFile {
  file: string;
  lineCounter: LineCounter;
  documents: YamlDocument[];
  diagnostics: Diagnostic[];
}

/**
 * Parses a multi-document YAML text, keeping every node so later diagnostics can carry
 * file:line:column. A document with syntax errors yields `MESHLET_ERR_CONFIG_YAML` diagnostics
 * and is left out; its siblings are kept. Empty documents (a trailing `---`, comments only) are
 * skipped. Input beyond {@link ConfigLimits} gets `MESHLET_ERR_CONFIG_LIMIT`: the whole file when
 * its size, document count, flow nesting or a scalar is too large; just the document when its
 * block nesting or alias expansion is.
 *
 * @example
 * ```ts
 * const { documents, diagnostics } = parseYaml(text, 'reviews.yaml');
 * ```
 */
export function parseYaml(text: string, file: string, limits: ConfigLimits = DEFAULT_CONFIG_LIMITS): YamlFile {
  const lineCounter = newLineCounter();
  const documents: YamlDocument[] = [];
  const diagnostics: Diagnostic[] = [];
  const out = { file, lineCounter, documents, diagnostics };
  const limit = (offset: number, message: string): void => {
    const pos = lineCounter.linePos(offset);
    diagnostics.push({ severity: 'error', code: 'MESHLET_ERR_CONFIG_LIMIT', message, file, line: pos.line, column: pos.col });
  };
  // A string holds at most 3 bytes of UTF-8 per UTF-16 unit: skip the byte count when it cannot matter.
  if (text.length * 3 > limits.maxFileBytes && Buffer.byteLength(text) > limits.maxFileBytes) {
    diagnostics.push({ severity: 'error', code: 'MESHLET_ERR_CONFIG_LIMIT', message: `file is larger than the ${formatBytes(limits.maxFileBytes)} limit`, file, line: 1, column: 1 });
    return out;
  }
  const { tokens, problem, deep } = tokenize(text, lineCounter, limits);
  if (problem) {
    limit(problem.offset, `${problem.message}; the file was not loaded`);
    return out;
  }
  // uniqueKeys off: checkNodes() finds duplicates in linear time, with the same message.
  // prettyErrors off: we add file:line ourselves and keep messages one line long.
  const docs = Array.from(newComposer({ prettyErrors: false, uniqueKeys: false }).compose(tokens));
  let index = 0;
  for (const doc of docs) {
    const at = index++;
    const tooDeep = deep.get(at);
    if (tooDeep !== undefined) {
      limit(tooDeep, `nesting deeper than ${limits.maxDepth} levels; document ${at + 1} was not loaded`);
      continue;
    }
    if (doc.errors.length > 0) {
      // One bad token can cascade into dozens of errors on the same line; the first error of a
      // line is the useful one, and a few lines are enough to locate the problem.
      const lines = new Set<number>();
      for (const err of doc.errors) {
        const pos = lineCounter.linePos(err.pos[0]);
        if (lines.has(pos.line)) continue;
        if (lines.size === MAX_YAML_ERRORS) break;
        lines.add(pos.line);
        diagnostics.push({
          severity: 'error',
          code: 'MESHLET_ERR_CONFIG_YAML',
          message: `invalid YAML: ${err.message}`,
          file,
          line: pos.line,
          column: pos.col,
        });
      }
      continue;
    }
    for (const warn of doc.warnings) {
      const pos = lineCounter.linePos(warn.pos[0]);
      diagnostics.push({ severity: 'warning', code: 'MESHLET_ERR_CONFIG_YAML', message: warn.message, file, line: pos.line, column: pos.col });
    }
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && (contents.value === null || contents.value === undefined))) continue;
    const checked = checkNodes(doc, limits);
    if (checked.problem) {
      const pos = nodePosition(lineCounter, checked.problem.node) ?? { line: 1, column: 1 };
      diagnostics.push({ severity: 'error', code: checked.problem.code, message: checked.problem.message, file, line: pos.line, column: pos.column });
      continue;
    }
    const start = nodePosition(lineCounter, contents) ?? { line: 1, column: 1 };
    documents.push({ doc, contents, index: at, line: start.line, column: start.column, aliases: checked.aliases });
  }
  return out;
}

/** 1-based line and column where a node starts, when the node has a range. */
export function nodePosition(lineCounter: LineCounter, node: Node | null | undefined): { line: number; column: number } | undefined {
  const start = node?.range?.[0];
  if (start === undefined) return undefined;
  const pos = lineCounter.linePos(start);
  return { line: pos.line, column: pos.col };
}
