import { isScalar, newLineCounter, parseAllDocuments, type Document, type LineCounter, type Node } from './yaml-lib.js';
import type { Diagnostic } from './types.js';

const MAX_YAML_ERRORS = 3;

/** One non-empty YAML document of a file, with its AST kept for positions. */
export interface YamlDocument {
  doc: Document.Parsed;
  contents: Node;
  /** 0-based index of the document in its file (counting empty ones), for messages. */
  index: number;
  line: number;
  column: number;
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
 * skipped.
 *
 * @example
 * ```ts
 * const { documents, diagnostics } = parseYaml(text, 'reviews.yaml');
 * ```
 */
export function parseYaml(text: string, file: string): YamlFile {
  const lineCounter = newLineCounter();
  const documents: YamlDocument[] = [];
  const diagnostics: Diagnostic[] = [];
  // prettyErrors off: we add file:line ourselves and keep messages one line long.
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  let index = 0;
  for (const doc of docs) {
    const at = index++;
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
    const start = nodePosition(lineCounter, contents) ?? { line: 1, column: 1 };
    documents.push({ doc, contents, index: at, line: start.line, column: start.column });
  }
  return { file, lineCounter, documents, diagnostics };
}

/** 1-based line and column where a node starts, when the node has a range. */
export function nodePosition(lineCounter: LineCounter, node: Node | null | undefined): { line: number; column: number } | undefined {
  const start = node?.range?.[0];
  if (start === undefined) return undefined;
  const pos = lineCounter.linePos(start);
  return { line: pos.line, column: pos.col };
}
