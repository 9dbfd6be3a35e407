// Step 1 of 3 (load → defaults → validate): YAML text to a plain value plus the parsed document,
// kept so later steps can point at the line and column of any key. Like Lima's limayaml.Load,
// this does not validate and never throws: every YAML problem becomes a ConfigIssue.

import { LineCounter, Scalar, isAlias, isMap, isScalar, isSeq, parse, parseDocument, visit } from 'yaml';
import type { Document, Node, Pair, YAMLError } from 'yaml';
import type { ConfigIssue } from '../errors.js';
import { interpolate } from './interpolate.js';
import type { Vars } from './interpolate.js';
import type { WrittenBoxfile } from './types.js';

/** A key path into the Boxfile: keys are strings, list indexes numbers. */
export type KeyPath = readonly (string | number)[];

/** 1-based, like editors show it. */
export interface Position {
  line: number;
  column: number;
}

export interface LoadResult {
  file: string;
  /**
   * The parsed value, or undefined when the YAML itself is broken (see `issues`). Not yet checked:
   * the type only holds once validateWritten() has returned no issues.
   */
  written: WrittenBoxfile | undefined;
  doc: Document.Parsed;
  /** YAML-level problems: syntax, duplicate keys, tabs, unknown aliases, an empty file. */
  issues: ConfigIssue[];
  /** Values substituted from `${VAR}` into a provisioner's `env`: secret by default. */
  interpolatedEnv: string[];
  /** Keys of `machines` in file order (a JS object puts integer-like keys first). */
  machineOrder: string[];
  /**
   * Where `path` is written. `at: 'key'` points at the key itself (for unknown keys and machine
   * names); a missing key falls back to its nearest existing parent.
   */
  positionOf(path: KeyPath, at?: 'key' | 'value'): Position;
}

// Clearer wording for the YAML errors people actually make; other codes keep yaml's message.
const YAML_HINTS: Partial<Record<YAMLError['code'], string>> = {
  TAB_AS_INDENT: 'indent with spaces; YAML does not allow tabs for indentation',
  DUPLICATE_KEY: 'each key may appear only once in a mapping; remove or merge the duplicates',
  MULTIPLE_DOCS: 'a Boxfile is a single YAML document; remove the `---` separator',
  MISSING_CHAR: 'a quote or bracket is not closed',
};

/**
 * `vars` is the environment `${VAR}` references read from: passed in, so loading stays pure
 * (readEnvironment() passes process.env).
 */
export function loadBoxfile(text: string, file: string, vars: Vars = {}): LoadResult {
  const lineCounter = new LineCounter();
  // merge: `<<: *anchor` is common in hand-written YAML even though YAML 1.2 dropped it.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    // linePos reports line 0 before the first newline is known (a one-line file).
    return { line: Math.max(line, 1), column: col };
  };
  const positionOf = (path: KeyPath, where: 'key' | 'value' = 'value'): Position =>
    at(offsetOf(doc, path, where));

  const issues: ConfigIssue[] = [...doc.errors, ...doc.warnings].map((e) => yamlIssue(e, file, doc, at));
  issues.push(...unknownAliases(doc, file, at));
  const interpolatedEnv: string[] = [];
  if (issues.length === 0) issues.push(...interpolateDocument(doc, vars, file, at, interpolatedEnv));

  let written: WrittenBoxfile | undefined;
  if (issues.length === 0) {
    try {
      // Unchecked cast by design: validateWritten() checks the shape against the schema.
      written = doc.toJS({ maxAliasCount: 100 }) as WrittenBoxfile | undefined;
    } catch (e) {
      // toJS throws on alias bombs and on merging a non-mapping (`<<: *scalar`).
      issues.push({
        file,
        ...at(0),
        path: '',
        message: lowerFirst(e instanceof Error ? e.message : String(e)),
      });
    }
    if (written === null || written === undefined) {
      if (issues.length === 0) {
        issues.push({
          file,
          line: 1,
          column: 1,
          path: '',
          message: 'the Boxfile is empty',
          hint: 'start with `version: 1` and a `machines:` mapping (see examples/quickstart)',
        });
      }
      written = undefined;
    }
  }
  return { file, written, doc, issues, interpolatedEnv, machineOrder: machineOrder(doc), positionOf };
}

// Replaces `${VAR}` in every string value, in place (the document is this load's own). A plain
// (unquoted) scalar is typed again afterwards, so `cpus: ${CPUS:-2}` is the number 2, while
// `cpus: "${CPUS:-2}"` stays a string, as YAML would read the text written out.
function interpolateDocument(
  doc: Document.Parsed,
  vars: Vars,
  file: string,
  at: (o: number) => Position,
  interpolatedEnv: string[],
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  visit(doc, {
    Scalar(key, node) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
      const source = node.value;
      const result = interpolate(source, vars);
      if ('error' in result) {
        const offset = node.range?.[0] ?? 0;
        issues.push({
          file,
          ...at(offset),
          path: formatPath(pathAt(doc, offset)),
          message: result.error,
          hint: result.hint,
        });
        return;
      }
      node.value = node.type === Scalar.PLAIN ? retype(result.value) : result.value;
      // A real reference (not the `$${` escape) inside a provisioner's env.
      if (/(^|[^$])\$\{/.test(source) && isEnvValuePath(pathAt(doc, node.range?.[0] ?? 0)))
        interpolatedEnv.push(result.value);
    },
  });
  return issues;
}

/** `...provision[n].env.NAME` or `...provision[n].env.NAME.value`. */
function isEnvValuePath(path: KeyPath): boolean {
  const i = path.lastIndexOf('env');
  return (
    i >= 2 &&
    path[i - 2] === 'provision' &&
    (path.length === i + 2 || (path.length === i + 3 && path[i + 2] === 'value'))
  );
}

function retype(text: string): unknown {
  try {
    const value: unknown = parse(text);
    return typeof value === 'number' || typeof value === 'boolean' || value === null ? value : text;
  } catch {
    return text;
  }
}

/** `machines.web.provision[0].run`: dots between keys, [n] for list indexes. */
export function formatPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out;
}

function yamlIssue(
  e: YAMLError,
  file: string,
  doc: Document.Parsed,
  at: (o: number) => Position,
): ConfigIssue {
  const offset = e.pos[0];
  const path = pathAt(doc, offset);
  const hint = YAML_HINTS[e.code];
  let message = lowerFirst(e.message);
  if (e.code === 'DUPLICATE_KEY') message = `duplicate key \`${String(path.at(-1) ?? '')}\``;
  if (e.code === 'TAB_AS_INDENT') message = 'tab used for indentation';
  return { file, ...at(offset), path: formatPath(path), message, ...(hint === undefined ? {} : { hint }) };
}

// yaml reports `*name` without a matching `&name` only when converting, without a position.
function unknownAliases(doc: Document.Parsed, file: string, at: (o: number) => Position): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  visit(doc, {
    Alias(_key, node) {
      if (node.resolve(doc) !== undefined) return;
      const offset = node.range?.[0] ?? 0;
      issues.push({
        file,
        ...at(offset),
        path: formatPath(pathAt(doc, offset)),
        message: `unknown alias \`*${node.source}\``,
        hint: `define the anchor \`&${node.source}\` before using it`,
      });
    },
  });
  return issues;
}

function machineOrder(doc: Document.Parsed): string[] {
  const machines = isMap(doc.contents) ? findPair(doc, doc.contents, 'machines')?.value : undefined;
  const map = resolve(doc, machines);
  return isMap(map) ? map.items.flatMap((p) => (isMergeKey(p) ? [] : [keyText(p.key)])) : [];
}

function offsetOf(doc: Document.Parsed, path: KeyPath, where: 'key' | 'value'): number {
  let node: unknown = doc.contents;
  let best = startOf(node) ?? 0;
  for (const [i, seg] of path.entries()) {
    const container = resolve(doc, node);
    let keyNode: unknown;
    if (isMap(container)) {
      const pair = findPair(doc, container, String(seg));
      keyNode = pair?.key;
      node = pair?.value;
      if (pair === undefined) return best;
    } else if (isSeq(container) && typeof seg === 'number' && seg < container.items.length) {
      node = container.items[seg];
    } else {
      return best;
    }
    const last = i === path.length - 1;
    const keyStart = startOf(keyNode);
    // An empty value (`hostname:`) has a zero-width range after the colon; the key reads better.
    const valueStart = isEmpty(node) ? undefined : startOf(node);
    best = (last && where === 'key' ? keyStart : (valueStart ?? keyStart)) ?? best;
  }
  return best;
}

/** The deepest key path whose key or value contains `offset` (for YAML errors). */
function pathAt(doc: Document.Parsed, offset: number): (string | number)[] {
  const path: (string | number)[] = [];
  let node: unknown = doc.contents;
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((p) => contains(p.key, offset) || contains(p.value, offset));
      if (pair === undefined) return path;
      path.push(keyText(pair.key));
      if (contains(pair.key, offset)) return path;
      node = pair.value;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => contains(item, offset));
      if (index < 0) return path;
      path.push(index);
      node = node.items[index];
    } else {
      return path;
    }
  }
}

// Explicit keys win over merged ones; among `<<` sources the earlier wins (YAML merge spec).
function findPair(
  doc: Document,
  map: { items: Pair[] },
  key: string,
  seen = new Set<unknown>(),
): Pair | undefined {
  const own = map.items.find((p) => !isMergeKey(p) && keyText(p.key) === key);
  if (own !== undefined) return own;
  for (const merge of map.items.filter(isMergeKey)) {
    const value = resolve(doc, merge.value);
    for (const source of isSeq(value) ? value.items : [value]) {
      const m = resolve(doc, source);
      if (!isMap(m) || seen.has(m)) continue;
      seen.add(m);
      const found = findPair(doc, m, key, seen);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function resolve(doc: Document, node: unknown): unknown {
  // Bounded: an alias can only point backwards, but stay safe against odd documents.
  for (let i = 0; i < 100 && isAlias(node); i++) node = node.resolve(doc);
  return node;
}

function isMergeKey(pair: Pair): boolean {
  return isScalar(pair.key) && typeof pair.key.value === 'symbol' && pair.key.value.description === '<<';
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function startOf(node: unknown): number | undefined {
  return isNodeWithRange(node) ? node.range[0] : undefined;
}

function contains(node: unknown, offset: number): boolean {
  return (
    isNodeWithRange(node) && node.range[0] <= offset && offset < Math.max(node.range[2], node.range[0] + 1)
  );
}

function isEmpty(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null && node.source === '');
}

function isNodeWithRange(node: unknown): node is Node & { range: [number, number, number] } {
  return (isScalar(node) || isMap(node) || isSeq(node) || isAlias(node)) && Array.isArray(node.range);
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
