/**
 * The `yaml` package, loaded on first use: a mesh client that never parses YAML (config comes
 * over xDS) does not pay its ~3 MB of RSS and load time at start (bench/cold-start.ts). The
 * config modules import these instead of 'yaml'; the signatures are yaml's own.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

export type { Alias, CST, Document, LineCounter, Node, Pair } from 'yaml';

let lib: typeof Yaml | undefined;
const yaml = (): typeof Yaml => (lib ??= createRequire(import.meta.url)('yaml') as typeof Yaml);

export const isMap = ((node: unknown) => yaml().isMap(node)) as typeof Yaml.isMap;
export const isScalar = ((node: unknown) => yaml().isScalar(node)) as typeof Yaml.isScalar;
export const isSeq = ((node: unknown) => yaml().isSeq(node)) as typeof Yaml.isSeq;
export const isPair = ((node: unknown) => yaml().isPair(node)) as typeof Yaml.isPair;
export const isAlias = ((node: unknown) => yaml().isAlias(node)) as typeof Yaml.isAlias;
export const parseAllDocuments = ((...args: Parameters<typeof Yaml.parseAllDocuments>) => yaml().parseAllDocuments(...args)) as typeof Yaml.parseAllDocuments;
export const stringify = ((...args: Parameters<typeof Yaml.stringify>) => yaml().stringify(...args)) as typeof Yaml.stringify;
/** `new LineCounter()`. */
export const newLineCounter = (): Yaml.LineCounter => new (yaml().LineCounter)();
/** `new Lexer()`. */
export const newLexer = (): Yaml.Lexer => new (yaml().Lexer)();
/** `new Parser(onNewLine)`. */
export const newParser = (onNewLine?: (offset: number) => void): Yaml.Parser => new (yaml().Parser)(onNewLine);
/** `new Composer(options)`. */
export const newComposer = (options?: ConstructorParameters<typeof Yaml.Composer>[0]): Yaml.Composer => new (yaml().Composer)(options);
