// Cold first load of a running Switchboard: what the browser downloads, and First Contentful Paint.
//   node end2end/bench/first-load.mjs "http://127.0.0.1:PORT/?token=<token>" [runs]
// Starts nothing: pass the login URL the server prints. Each run uses a fresh browser context
// (empty cache, no cookies) with the HTTP cache disabled over CDP, loads the URL, waits for
// the network to go idle (the WASM has loaded and hydrated), and prints per resource:
// bytes over the network (CDP Network.loadingFinished encodedDataLength: headers + body as
// sent), decoded bytes (sum of Network.dataReceived dataLength), and Content-Encoding.
import { chromium } from '@playwright/test';

const [url, runsArg = '3'] = process.argv.slice(2);
if (!url) {
  console.error('usage: node end2end/bench/first-load.mjs <login URL> [runs]');
  process.exit(2);
}
const runs = Number(runsArg);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const kindOf = (r) => {
  const path = new URL(r.url).pathname;
  if (path.endsWith('.wasm')) return 'wasm';
  if (path.endsWith('.js') || r.type === 'Script') return 'js';
  if (path.endsWith('.css') || r.type === 'Stylesheet') return 'css';
  if (r.type === 'Document') return 'document';
  if (r.type === 'Fetch' || r.type === 'XHR') return 'fetch';
  return (r.type ?? 'other').toLowerCase();
};

const summaries = [];
for (let run = 1; run <= runs; run++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const reqs = new Map();
  const get = (id) => {
    if (!reqs.has(id)) reqs.set(id, { decoded: 0, encoded: 0, done: false });
    return reqs.get(id);
  };
  cdp.on('Network.requestWillBeSent', (e) => {
    // A redirect reuses the requestId: keep the redirected hop as its own entry.
    if (e.redirectResponse && reqs.has(e.requestId)) {
      const prev = reqs.get(e.requestId);
      reqs.set(`${e.requestId}:redirect:${reqs.size}`, { ...prev, done: true,
        encoded: prev.encoded || e.redirectResponse.encodedDataLength || 0,
        status: e.redirectResponse.status });
      reqs.delete(e.requestId);
    }
    Object.assign(get(e.requestId), { url: e.request.url, type: e.type });
  });
  cdp.on('Network.responseReceived', (e) => {
    const h = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    Object.assign(get(e.requestId), {
      status: e.response.status, encoding: h['content-encoding'] ?? 'identity',
      cache: h['cache-control'] ?? '', type: e.type,
    });
  });
  cdp.on('Network.dataReceived', (e) => { get(e.requestId).decoded += e.dataLength; });
  cdp.on('Network.loadingFinished', (e) => {
    Object.assign(get(e.requestId), { encoded: e.encodedDataLength, done: true });
  });

  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'networkidle' });
  const loadMs = Date.now() - t0;
  const paint = await page.evaluate(() =>
    Object.fromEntries(performance.getEntriesByType('paint').map((p) => [p.name, p.startTime])));
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return n ? { dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd } : {};
  });

  const rows = [...reqs.values()].filter((r) => r.url && r.done && !r.url.startsWith('data:'));
  console.log(`\n== run ${run}: ${url.replace(/token=[^&]+/, 'token=...')}`);
  console.log('kind      status  transferred     decoded  encoding  cache-control  url');
  for (const r of rows) {
    console.log(`${kindOf(r).padEnd(9)} ${String(r.status ?? '').padEnd(6)} ${kb(r.encoded).padStart(12)} ${kb(r.decoded).padStart(11)}  ${(r.encoding ?? '').padEnd(8)}  ${(r.cache || '-').slice(0, 13).padEnd(13)}  ${new URL(r.url).pathname}`);
  }
  const byKind = {};
  for (const r of rows) {
    const k = (byKind[kindOf(r)] ??= { transferred: 0, decoded: 0 });
    k.transferred += r.encoded; k.decoded += r.decoded;
  }
  console.log('per type:', Object.entries(byKind)
    .map(([k, v]) => `${k} ${kb(v.transferred)} (decoded ${kb(v.decoded)})`).join(', '));
  const assets = ['wasm', 'js', 'css'].reduce((s, k) => ({
    transferred: s.transferred + (byKind[k]?.transferred ?? 0),
    decoded: s.decoded + (byKind[k]?.decoded ?? 0),
  }), { transferred: 0, decoded: 0 });
  const total = rows.reduce((s, r) => s + r.encoded, 0);
  const fcp = paint['first-contentful-paint'];
  console.log(`WASM+JS+CSS transferred ${kb(assets.transferred)} (decoded ${kb(assets.decoded)}); all resources ${kb(total)}`);
  console.log(`FCP ${fcp?.toFixed(0)} ms, DOMContentLoaded ${nav.dcl?.toFixed(0)} ms, load ${nav.load?.toFixed(0)} ms, networkidle after ${loadMs} ms`);
  summaries.push({ assets, total, fcp });
  await context.close();
}
await browser.close();

console.log('\n== summary');
for (const [i, s] of summaries.entries()) {
  console.log(`run ${i + 1}: WASM+JS+CSS ${kb(s.assets.transferred)} transferred / ${kb(s.assets.decoded)} decoded, all ${kb(s.total)}, FCP ${s.fcp?.toFixed(0)} ms`);
}
