#!/usr/bin/env node
// Thin launcher: the compiled CLI, bundled into a few files, lives in dist/bundle/ (npm run build).
import { main } from '../dist/bundle/cli.js';

const code = await main(process.argv.slice(2));
// After Ctrl-C an abandoned step (an SSH wait) may still hold timers: do not wait for them.
if (code === 130) process.exit(code);
process.exitCode = code;
