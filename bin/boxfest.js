#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (npm run build).
import { main } from '../dist/cli.js';

const code = await main(process.argv.slice(2));
// After Ctrl-C an abandoned step (an SSH wait) may still hold timers: do not wait for them.
if (code === 130) process.exit(code);
process.exitCode = code;
