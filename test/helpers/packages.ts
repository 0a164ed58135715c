import { createRequire } from 'node:module';

/** Whether an optional package (e.g. the native TensorFlow backend) can be imported from the repository. */
export function packageInstalled(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}
