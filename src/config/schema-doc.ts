// The README's Boxfile key reference, generated from schemas/boxfile.schema.json so the docs
// cannot drift from the schema (test/unit/config/readme.test.ts compares them). Output is a
// Markdown table already laid out the way Prettier formats it.

import { loadSchema } from './schema.js';

interface Node {
  description?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  pattern?: string;
  title?: string;
  $ref?: string;
  properties?: Record<string, Node>;
  additionalProperties?: Node | boolean;
  items?: Node;
  else?: Node;
  required?: string[];
}

export function schemaMarkdown(): string {
  return table(['key', 'type', 'default', 'meaning'], schemaRows());
}

/** Every key path the schema knows, `NAME` for user-chosen names and `[]` for list items. */
export function schemaKeys(): string[] {
  return schemaRows().map((r) => (r[0] ?? '').replaceAll('`', ''));
}

function schemaRows(): string[][] {
  const schema = loadSchema() as unknown as Node & { $defs: Record<string, Node> };
  const deref = (n: Node): Node => {
    const name = n.$ref?.replace('#/$defs/', '');
    return name === undefined ? n : { ...(schema.$defs[name] ?? {}), description: n.description ?? '' };
  };
  const rows: string[][] = [];
  const walk = (node: Node, prefix: string, required: readonly string[]): void => {
    for (const [key, raw] of Object.entries(node.properties ?? {})) {
      const sub = deref(raw);
      const path = `${prefix}${key}`;
      rows.push([
        `\`${path}\``,
        typeOf(sub, deref),
        defaultOf(sub, required.includes(key)),
        sub.description ?? '',
      ]);
      // `defaults` has a machine's keys: listed once, under `machines.NAME`.
      if (sub.properties !== undefined && path !== 'defaults') walk(sub, `${path}.`, sub.required ?? []);
      const items = sub.items === undefined ? undefined : deref(sub.items);
      if (items?.properties !== undefined) walk(items, `${path}[].`, items.required ?? []);
      const named = typeof sub.additionalProperties === 'object' ? sub.additionalProperties : undefined;
      const each = named === undefined ? undefined : deref(named.else ?? named);
      if (each?.properties !== undefined) walk(each, `${path}.NAME.`, each.required ?? []);
    }
  };
  walk(schema, '', schema.required ?? []);
  return rows;
}

function typeOf(n: Node, deref: (n: Node) => Node): string {
  if (n.const !== undefined) return `\`${JSON.stringify(n.const)}\``;
  if (n.enum !== undefined) return n.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (n.title === 'size') return 'size';
  const types = Array.isArray(n.type) ? n.type : [n.type ?? 'object'];
  return types
    .map((t) => {
      if (t === 'array') {
        const items = n.items === undefined ? undefined : deref(n.items);
        if (items?.properties !== undefined) return 'list of mappings';
        if (items?.enum !== undefined) return `list of ${typeOf(items, deref)}`;
        return `list of ${String(items?.type ?? 'value')}s`;
      }
      return t === 'object' ? 'mapping' : t;
    })
    .join(' or ');
}

function defaultOf(n: Node, required: boolean): string {
  if (required) return 'required';
  if (n.default === undefined) return '';
  return `\`${typeof n.default === 'string' ? n.default : JSON.stringify(n.default)}\``;
}

// Prettier pads every cell to its column's width; do the same so the README stays as generated.
function table(head: string[], rows: string[][]): string {
  const all = [head, ...rows].map((r) => r.map((c) => c.replaceAll('\n', ' ').replace(/(?<!\\)\|/g, '\\|')));
  const widths = head.map((_, i) => Math.max(3, ...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [first = [], ...rest] = all;
  return (
    [line(first), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rest.map(line)].join('\n') + '\n'
  );
}
