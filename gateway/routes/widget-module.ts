/**
 * @module routes/widget-module
 * `GET /widget/fgm-status.js` — the built widget, one ES module, read from disk on each request
 * so a rebuild needs no restart. 404 with a clear message until `dist/widget/` is built.
 */
import { readFile } from 'node:fs/promises';
import type { Handler } from 'hono';
import type { GatewayEnv } from '../env.ts';

/**
 * @example app.get('/widget/fgm-status.js', widgetModule({ file: 'dist/widget/fgm-status.js' }))
 */
export function widgetModule({ file }: { file: string }): Handler<GatewayEnv> {
  return async function widgetModule(c) {
    let source: Buffer;
    try {
      source = await readFile(file);
    } catch {
      c.set('outcomeCode', 'NOT_FOUND');
      return c.text('The widget is not built: run the widget build to create dist/widget/fgm-status.js.', 404, { 'Cache-Control': 'no-store' });
    }
    c.set('outcomeCode', 'SUCCESS');
    return c.body(new Uint8Array(source), 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' });
  };
}
