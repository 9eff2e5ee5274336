// Entry of the audit writer thread when the gateway runs from source (tests, demo): worker threads
// do not inherit tsx's TypeScript loader on Node 20, so it is registered here before the writer
// (TypeScript) is loaded. The built gateway starts dist/gateway/audit/sqlite-writer.worker.js.
import { register } from 'tsx/esm/api';

register();
await import('./sqlite-writer.worker.ts');
