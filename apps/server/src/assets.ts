/**
 * Static assets, all served by us (the browser may have no internet): the stylesheet, the small
 * admin scripts and lightweight-charts' standalone build from node_modules. Read once, at the first request for one.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

interface Asset {
  body: string;
  type: string;
}

function load(): Map<string, Asset> {
  const dir = path.join(here, 'assets');
  const charts = path.join(
    path.dirname(require.resolve('lightweight-charts/package.json')),
    'dist',
    'lightweight-charts.standalone.production.js',
  );
  return new Map<string, Asset>([
    ['app.css', { body: fs.readFileSync(path.join(dir, 'app.css'), 'utf8'), type: 'text/css; charset=utf-8' }],
    ['admin.js', { body: fs.readFileSync(path.join(dir, 'admin.js'), 'utf8'), type: 'text/javascript; charset=utf-8' }],
    ['chart.js', { body: fs.readFileSync(path.join(dir, 'chart.js'), 'utf8'), type: 'text/javascript; charset=utf-8' }],
    ['lightweight-charts.js', { body: fs.readFileSync(charts, 'utf8'), type: 'text/javascript; charset=utf-8' }],
  ]);
}

let cache: Map<string, Asset> | undefined;

export function assetRoutes() {
  const app = new Hono();
  app.get('/:name', (c) => {
    // Read at the first request for an asset (the chart library is ~170 kB), then kept.
    cache ??= load();
    const a = cache.get(c.req.param('name'));
    if (!a) return c.notFound();
    return c.body(a.body, 200, { 'content-type': a.type, 'cache-control': 'public, max-age=300' });
  });
  return app;
}
