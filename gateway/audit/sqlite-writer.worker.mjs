// Entry of the audit writer thread. Worker threads do not inherit tsx's TypeScript loader on
// Node 20, so it is registered here before the writer (TypeScript) is loaded.
import { register } from 'tsx/esm/api';

register();
await import('./sqlite-writer.worker.ts');
