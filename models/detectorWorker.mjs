// Worker-thread entry: Veil runs from TypeScript source through tsx, and a worker thread needs the loader too.
import { register } from 'tsx/esm/api';

register();
await import('./detectorWorker.ts');
