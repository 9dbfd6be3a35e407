// The README's Boxfile key reference is generated from the schema; this keeps it so.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemaMarkdown } from '../../../src/config/schema-doc.js';

const README = resolve(import.meta.dirname, '../../../README.md');

describe('README', () => {
  it('documents the schema as schemaMarkdown() renders it', () => {
    const text = readFileSync(README, 'utf8');
    const start = '<!-- schema:start -->\n';
    const from = text.indexOf(start);
    const to = text.indexOf('<!-- schema:end -->');
    expect(from).toBeGreaterThan(0);
    expect(to).toBeGreaterThan(from);
    // On failure: paste schemaMarkdown() between the markers, a blank line on each side (as Prettier
    // keeps it; the table is already in its layout).
    expect(text.slice(from + start.length, to)).toBe(`\n${schemaMarkdown()}\n`);
  });
});
