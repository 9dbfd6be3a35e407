// Step 3 of 3: everything that is wrong with a Boxfile, each with its line, column and key path.
// validateWritten() (schema.ts) checks the written shape against schemas/boxfile.schema.json;
// checkRules() (rules/) checks what a schema cannot: names, references between keys, addresses,
// collisions, paths on the host and what the provider can do.

export {
  validateWritten,
  compiledSchema,
  loadSchema,
  didYouMean,
  editDistance,
  pointerToPath,
} from './schema.js';
export { checkRules } from './rules/index.js';
export type { FsCheck } from './rules/context.js';
export { sortIssues } from './issues.js';
