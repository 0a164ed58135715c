// npm links the bins of dependencies, not the project's own: this makes `npx veil` work in a checkout after
// `npm install` (the `prepare` script), as it does for a user who installed Veil as a package.
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const binDir = path.join(root, 'node_modules', '.bin');
const link = path.join(binDir, 'veil');
mkdirSync(binDir, { recursive: true });
rmSync(link, { force: true });
symlinkSync(path.relative(binDir, path.join(root, 'pipeline', 'veil.mjs')), link);
