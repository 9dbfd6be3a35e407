// The package's own files (package.json, schemas/) are found from here: this module is two levels
// below the package root as src/util/*.ts, as dist/util/*.js and inside the bundle (dist/bundle/*.js)
// alike. Nothing else may locate files relative to its own module.
export const PACKAGE_ROOT = new URL('../../', import.meta.url);
