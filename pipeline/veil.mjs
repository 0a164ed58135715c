#!/usr/bin/env node
// The `veil` command. Veil runs from its TypeScript source through tsx, so there is no build step after npm install.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
