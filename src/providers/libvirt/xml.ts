// XML in and out. Out: boxfest writes libvirt's XML itself (templates in domain-xml.ts and
// network-xml.ts, every value escaped here). In: libvirt's answers are read with @xmldom/xmldom,
// a DOM parser without dependencies, loaded on first use so commands that read no XML never pay
// for it.
import { createRequire } from 'node:module';
import type * as Xmldom from '@xmldom/xmldom';
import type { DOMParser as DOMParserType, Element as XmlElement } from '@xmldom/xmldom';

export type { XmlElement };

/** Text and attribute values, escaped (attributes are written in single quotes). */
export function esc(v: string | number): string {
  return String(v)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/'/g, '&apos;')
    .replace(/"/g, '&quot;');
}

let parser: DOMParserType | undefined;

/** The document element of `xml`; malformed XML throws (libvirt never sends it). */
export function parseXml(xml: string): XmlElement {
  const { DOMParser } = createRequire(import.meta.url)('@xmldom/xmldom') as typeof Xmldom;
  parser ??= new DOMParser({
    onError: (level, msg) => {
      if (level !== 'warning') throw new Error(`unreadable XML from libvirt: ${msg}`);
    },
  });
  const doc = parser.parseFromString(xml, 'text/xml');
  if (doc.documentElement === null) throw new Error('unreadable XML from libvirt: no document element');
  return doc.documentElement;
}

/** Child elements named `tag` (direct children only). */
export function children(e: XmlElement, tag: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (let n = e.firstChild; n !== null; n = n.nextSibling)
    if (n.nodeType === 1 && (n as XmlElement).localName === tag) out.push(n as XmlElement);
  return out;
}

export function child(e: XmlElement, tag: string): XmlElement | undefined {
  return children(e, tag)[0];
}

/** The element at a path of child names, e.g. `['devices', 'interface']` → the first such. */
export function at(e: XmlElement, ...path: string[]): XmlElement | undefined {
  let cur: XmlElement | undefined = e;
  for (const p of path) cur = cur === undefined ? undefined : child(cur, p);
  return cur;
}

export function text(e: XmlElement | undefined): string | undefined {
  return e?.textContent ?? undefined;
}

export function attr(e: XmlElement | undefined, name: string): string | undefined {
  const v = e?.getAttribute(name);
  return v === null || v === undefined ? undefined : v;
}
