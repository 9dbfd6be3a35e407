import type { ConfigIssue } from '../errors.js';

/** By line, then column, then key path: the order the user reads the file in. */
export function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column || a.path.localeCompare(b.path));
}
