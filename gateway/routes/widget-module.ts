/**
 * @module routes/widget-module
 * `GET /widget/fgm-status.js` — the built widget, one ES module, read from disk on each request
 * so a rebuild needs no restart; `no-cache`, so pages that load it always get the current build.
 * `GET /widget/fgm-status-<version>.js` — a build kept under its version beside it (the build
 * writes every release of widget/releases/ there; widget/pin-build.mjs): it never changes,
 * so it is cached for a year and a page can pin it with Subresource Integrity. A release is
 * served only with the bytes its hash in the build's integrity.json names: a file cut short or
 * changed on disk would otherwise be kept a year by browsers and fail every pinned page's check.
 * 404 with a clear message for a build that is not there.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Context, Handler } from 'hono';
import widgetPackage from '@fgm-status/element/package.json' with { type: 'json' };
import type { GatewayEnv } from '../env.ts';

/** This build's versioned path, e.g. `/widget/fgm-status-0.1.0.js`. */
export const VERSIONED_WIDGET_PATH = `/widget/fgm-status-${widgetPackage.version}.js`;

/** The route pattern of versioned builds: the file name is digits and dots only, never a path. */
export const VERSIONED_WIDGET_ROUTE = '/widget/:file{fgm-status-\\d+\\.\\d+\\.\\d+\\.js}';

/** The hashes the build recorded beside the releases, or none (a build from before they were). */
async function releasedHashes(dir: string): Promise<Record<string, unknown>> {
  try {
    const record: unknown = JSON.parse(await readFile(join(dir, 'integrity.json'), 'utf8'));
    return record !== null && typeof record === 'object' ? (record as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

async function serve(
  c: Context<GatewayEnv>,
  file: string,
  cacheControl: string,
  missing: string,
  integrity?: (source: Buffer) => Promise<boolean>,
) {
  let source: Buffer;
  try {
    source = await readFile(file);
    if (integrity && !(await integrity(source))) throw new Error('not the released bytes');
  } catch {
    c.set('outcomeCode', 'NOT_FOUND');
    return c.text(missing, 404, { 'Cache-Control': 'no-store' });
  }
  c.set('outcomeCode', 'SUCCESS');
  return c.body(new Uint8Array(source), 200, {
    'Content-Type': 'text/javascript; charset=utf-8',
    'Cache-Control': cacheControl,
  });
}

/**
 * @example app.get('/widget/fgm-status.js', widgetModule({ file: 'dist/widget/fgm-status.js' }))
 */
export function widgetModule({ file }: { file: string }): Handler<GatewayEnv> {
  return function widgetModule(c) {
    return serve(
      c,
      file,
      'no-cache',
      'The widget is not built: run the widget build to create dist/widget/fgm-status.js.',
    );
  };
}

/**
 * Serves `fgm-status-<version>.js` from the directory of `file` (the current build).
 * @example app.get(VERSIONED_WIDGET_ROUTE, versionedWidgetModule({ file: 'dist/widget/fgm-status.js' }))
 */
export function versionedWidgetModule({ file }: { file: string }): Handler<GatewayEnv> {
  const dir = dirname(file);
  return function versionedWidgetModule(c) {
    const name = c.req.param('file') ?? '';
    return serve(
      c,
      join(dir, name),
      'public, max-age=31536000, immutable',
      `No widget build ${name} here: pin a version this gateway serves.`,
      async (source) => {
        const hashes = await releasedHashes(dir);
        const recorded = Object.hasOwn(hashes, name) ? hashes[name] : undefined;
        // A name the build recorded is served only with its bytes; one it never recorded (a build
        // from before releases were) is served as before.
        return recorded === undefined || recorded === `sha384-${createHash('sha384').update(source).digest('base64')}`;
      },
    );
  };
}
