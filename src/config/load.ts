// Step 1 of 3 (load → defaults → validate): YAML text to a plain value plus the parsed document,
// kept so later steps can point at the line and column of any key. Like Lima's limayaml.Load,
// this does not validate and never throws: every YAML problem becomes a ConfigIssue.

import {
  LineCounter,
  Scalar,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parse,
  parseDocument,
  visit,
} from 'yaml';
import type { Document, Node, Pair, YAMLError } from 'yaml';
import type { ConfigIssue } from '../errors.js';
import { interpolate } from './interpolate.js';
import { quoteForMessage } from './names.js';
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
  /** The source text as read: the validation cache keys on it (with what `${VAR}` gave). */
  text: string;
  /** Every `${VAR}` substitution's result, in document order (with `text`, the document exactly). */
  interpolations: string[];
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
  /**
   * The text written at `path` when `${VAR}` references were replaced there (`"${PIN}"`): an error
   * about such a value quotes what was written, never what the environment gave (it may be a secret).
   */
  writtenSource(path: KeyPath): string | undefined;
}

/** Larger than any hand-written Boxfile by far; beyond it the YAML parser's cost is unbounded. */
export const MAX_BOXFILE_BYTES = 1024 * 1024;
/** Flow collections nested deeper than this are refused before parsing (the parser recurses). */
export const MAX_FLOW_DEPTH = 200;

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
  const tooBig = tooBigIssue(text, file);
  if (tooBig !== undefined) return brokenLoad(text, file, tooBig);
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
  issues.push(...badAliases(doc, file, at));
  const interpolatedEnv: string[] = [];
  const interpolations: string[] = [];
  const sources = new Map<number, string>();
  if (issues.length === 0)
    issues.push(
      ...interpolateDocument(doc, vars, file, at, { text, interpolatedEnv, interpolations, sources }),
    );

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
  return {
    file,
    text,
    interpolations,
    written,
    doc,
    issues,
    interpolatedEnv,
    machineOrder: machineOrder(doc),
    positionOf,
    writtenSource: (path) => sources.get(offsetOf(doc, path, 'value')),
  };
}

// A Boxfile too large, or nested too deep, for the parser to be handed it safely: a 400 000-deep
// flow sequence makes it run out of memory and abort the process (no error to catch).
function tooBigIssue(text: string, file: string): ConfigIssue | undefined {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_BOXFILE_BYTES)
    return {
      file,
      line: 1,
      column: 1,
      path: '',
      message: `the Boxfile is larger than ${MAX_BOXFILE_BYTES / 2 ** 20} MiB, the most boxfest reads`,
      hint: 'a Boxfile describes machines; keep large data in files that provisioners upload',
    };
  const deep = flowDepthExceeded(text);
  if (deep === undefined) return undefined;
  const before = text.slice(0, deep);
  return {
    file,
    line: before.split('\n').length,
    column: deep - before.lastIndexOf('\n'),
    path: '',
    message: `collections nested more than ${MAX_FLOW_DEPTH} levels deep`,
    hint: 'a Boxfile needs a few levels of nesting; this looks like generated or damaged input',
  };
}

/**
 * Offset where `[`/`{` nesting first exceeds MAX_FLOW_DEPTH, skipping quoted text and comments;
 * undefined when it never does. A rough count (block scalars are not skipped) with a limit no
 * Boxfile comes near, so it can only refuse input the parser could not take either.
 */
function flowDepthExceeded(text: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '[' || c === '{') {
      if (++depth > MAX_FLOW_DEPTH) return i;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
    else if (c === '"' || c === "'") {
      // To the closing quote (`\"` escapes in double quotes, `''` in single ones) or the line's end.
      for (i++; i < text.length && text[i] !== c && text[i] !== '\n'; i++)
        if (c === '"' && text[i] === '\\') i++;
    } else if (c === '#' && (i === 0 || text[i - 1] === ' ' || text[i - 1] === '\n')) {
      while (i < text.length && text[i] !== '\n') i++;
    }
  }
  return undefined;
}

function brokenLoad(text: string, file: string, issue: ConfigIssue): LoadResult {
  const doc = parseDocument('');
  return {
    file,
    text,
    interpolations: [],
    written: undefined,
    doc,
    issues: [issue],
    interpolatedEnv: [],
    machineOrder: [],
    positionOf: () => ({ line: 1, column: 1 }),
    writtenSource: () => undefined,
  };
}

// Replaces `${VAR}` in every string value, in place (the document is this load's own). A plain
// (unquoted) scalar is typed again afterwards, so `cpus: ${CPUS:-2}` is the number 2, while
// `cpus: "${CPUS:-2}"` stays a string, as YAML would read the text written out.
function interpolateDocument(
  doc: Document.Parsed,
  vars: Vars,
  file: string,
  at: (o: number) => Position,
  // `sources`: offset of each node `${VAR}` changed → its text as written (quotes included).
  out: { text: string; interpolatedEnv: string[]; interpolations: string[]; sources: Map<number, string> },
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  // Only a document with aliases can reach a `shell:` body from elsewhere: skip that walk otherwise.
  const aliased = out.text.includes('*') ? shellAliasTargets(doc) : new Set<unknown>();
  visit(doc, {
    Scalar(key, node, path) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
      // A `shell:` body is a script: `${VAR}`, `${#VAR}` and `${VAR%x}` are the shell's to expand.
      const pair = path.at(-1);
      if ((isPair(pair) && keyText(pair.key) === 'shell') || aliased.has(node)) return;
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
      if (result.value === source) return;
      out.interpolations.push(result.value);
      const [start, end] = node.range ?? [0, 0];
      out.sources.set(start, out.text.slice(start, Math.min(end, start + 200)).trimEnd());
      // A real reference (not the `$${` escape) inside a provisioner's env.
      if (/(^|[^$])\$\{/.test(source) && isEnvValuePath(pathAt(doc, start)))
        out.interpolatedEnv.push(result.value);
    },
  });
  return issues;
}

/**
 * Scalars that a `shell:` value reaches through an alias (`shell: *script`, the script anchored
 * under an `x-` key): passed verbatim too. (`shell` is a key only provisioners have.)
 */
function shellAliasTargets(doc: Document.Parsed): Set<unknown> {
  const targets = new Set<unknown>();
  visit(doc, {
    Pair(_key, pair) {
      if (isScalar(pair.key) && pair.key.value === 'shell' && isAlias(pair.value)) {
        const value = pair.value.resolve(doc);
        if (isScalar(value)) targets.add(value);
      }
    },
  });
  return targets;
}

/** `...provision[n].env.NAME` or `...provision[n].env.NAME.value`. */
export function isEnvValuePath(path: KeyPath): boolean {
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

/**
 * `machines.web.provision[0].run`: dots between keys, [n] for list indexes. A key that is not
 * plain text (a control or bidi character, or very long) is shown quoted and cut, so a message
 * cannot garble the terminal it is printed on.
 */
export function formatPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    const key = typeof seg === 'number' ? `[${seg}]` : PLAIN_KEY.test(seg) ? seg : quoteForMessage(seg);
    out += typeof seg === 'number' || out === '' ? key : `.${key}`;
  }
  return out;
}

// Names as machines, networks and keys usually are; anything else (dots, slashes, spaces, control
// or bidi characters) is quoted, so `networks."../x"` cannot be read as a longer path.
const PLAIN_KEY = /^[A-Za-z0-9_-]{1,60}$/;

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

// yaml reports `*name` without a matching `&name` only when converting, without a position; an
// alias inside the node its anchor names (`machines: &m { web: *m }`) makes a document that never
// ends, which yaml turns into a circular object.
function badAliases(doc: Document.Parsed, file: string, at: (o: number) => Position): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  visit(doc, {
    Alias(_key, node) {
      const target = node.resolve(doc);
      const offset = node.range?.[0] ?? 0;
      const issue = (message: string, hint: string) =>
        issues.push({ file, ...at(offset), path: formatPath(pathAt(doc, offset)), message, hint });
      if (target === undefined)
        issue(`unknown alias \`*${node.source}\``, `define the anchor \`&${node.source}\` before using it`);
      else if (contains(target, offset))
        issue(
          `alias \`*${node.source}\` is inside the node its anchor \`&${node.source}\` names, so the document would never end`,
          'an alias can only repeat a node that is complete before it; move the anchor or copy the values',
        );
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
  const value = isScalar(key) ? key.value : key;
  // The merge key `<<` is a symbol in the parsed document.
  return typeof value === 'symbol' ? (value.description ?? '') : String(value);
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
