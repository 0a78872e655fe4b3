// Cold first load of a running Switchboard as a person sees it: bytes per asset, First
// Contentful Paint and the moment the page is live (hydrated and its socket's `Connected`
// in: `data-live-at` on the body), for `/` and a session page, with no throttling and under
// the "slow 4G" profile (150 ms round trip, 1.6 Mbps down, 750 kbps up) at a phone's
// viewport; then the bytes of a repeat visit (same browser, warm cache).
//   node end2end/bench/first-load.mjs "http://127.0.0.1:PORT/?token=<token>" [runs] [session-id]
// Starts nothing: pass the login URL the server prints (the token is accepted on any path,
// once per fresh context) and, for `/s/<id>`, a session id. Medians over `runs` (default 5).
import { chromium } from '@playwright/test';

const [loginUrl, runsArg = '5', session] = process.argv.slice(2);
if (!loginUrl) {
  console.error('usage: node end2end/bench/first-load.mjs <login URL> [runs] [session-id]');
  process.exit(2);
}
const runs = Number(runsArg);
const SLOW_4G = { offline: false, latency: 150, downloadThroughput: (1.6e6 / 8), uploadThroughput: (750e3 / 8) };
const PROFILES = [
  { name: 'unthrottled, desktop', viewport: { width: 1280, height: 720 }, network: null },
  { name: 'slow 4G, phone 390x844', viewport: { width: 390, height: 844 }, network: SLOW_4G },
];
const pages = [['/', '/'], ...(session ? [['/s/<id>', `/s/${session}`]] : [])];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kindOf = (url, type) => {
  const path = new URL(url).pathname;
  if (path.endsWith('.wasm')) return 'wasm';
  if (path.endsWith('.js') || type === 'Script') return 'js';
  if (path.endsWith('.css') || type === 'Stylesheet') return 'css';
  if (type === 'Document') return 'document';
  return (type ?? 'other').toLowerCase();
};

/** Counts what the page transfers, per kind, from CDP's network events. */
function meter(cdp) {
  const reqs = new Map();
  const get = (id) => reqs.get(id) ?? reqs.set(id, { bytes: 0 }).get(id);
  cdp.on('Network.requestWillBeSent', (e) => Object.assign(get(e.requestId), { url: e.request.url, type: e.type }));
  cdp.on('Network.responseReceived', (e) => {
    const enc = Object.entries(e.response.headers).find(([k]) => k.toLowerCase() === 'content-encoding');
    Object.assign(get(e.requestId), { encoding: enc ? enc[1] : 'identity', type: e.type });
  });
  cdp.on('Network.loadingFinished', (e) => { get(e.requestId).bytes = e.encodedDataLength; });
  return () => {
    const byKind = {};
    for (const r of reqs.values()) {
      if (!r.url || r.url.startsWith('data:')) continue;
      const k = kindOf(r.url, r.type);
      byKind[k] = (byKind[k] ?? 0) + r.bytes;
    }
    return byKind;
  };
}

/** One cold load of `path` (logging in through its `?token=`), then one repeat visit. */
async function load(profile, path, acceptEncoding) {
  const context = await browser.newContext({ viewport: profile.viewport });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  if (profile.network) await cdp.send('Network.emulateNetworkConditions', profile.network);
  if (acceptEncoding) await cdp.send('Network.setExtraHTTPHeaders', { headers: { 'Accept-Encoding': acceptEncoding } });
  const url = new URL(loginUrl);
  url.pathname = path;
  let bytes = meter(cdp);
  await page.goto(url.toString(), { waitUntil: 'load' });
  await page.waitForSelector('body[data-live-at]', { timeout: 60_000 });
  const timing = await page.evaluate(() => ({
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
    live: Number(document.body.dataset.liveAt) - performance.timeOrigin,
  }));
  await page.waitForLoadState('networkidle');
  const cold = bytes();
  // A repeat visit: the same browser, cache warm, logged in.
  const again = await context.newPage();
  const cdp2 = await context.newCDPSession(again);
  await cdp2.send('Network.enable');
  bytes = meter(cdp2);
  await again.goto(new URL(path, loginUrl).toString(), { waitUntil: 'load' });
  await again.waitForSelector('body[data-live-at]', { timeout: 60_000 });
  await again.waitForLoadState('networkidle');
  const warm = bytes();
  await context.close();
  return { ...timing, cold, warm };
}

const sum = (byKind) => Object.values(byKind).reduce((a, b) => a + b, 0);
for (const profile of PROFILES) {
  for (const [label, path] of pages) {
    const samples = [];
    for (let run = 0; run < runs; run++) samples.push(await load(profile, path));
    const kinds = [...new Set(samples.flatMap((s) => Object.keys(s.cold)))];
    console.log(`\n== ${label}, ${profile.name}, ${runs} runs, medians`);
    console.log(`  cold bytes: ${kinds.map((k) => `${k} ${kib(median(samples.map((s) => s.cold[k] ?? 0)))}`).join(', ')}; total ${kib(median(samples.map((s) => sum(s.cold))))}`);
    console.log(`  first contentful paint ${median(samples.map((s) => s.fcp)).toFixed(0)} ms; live ${median(samples.map((s) => s.live)).toFixed(0)} ms`);
    console.log(`  repeat visit: ${kib(median(samples.map((s) => sum(s.warm))))} transferred`);
  }
}
// What gzip alone would cost (a browser or proxy without brotli), unthrottled, one run.
const gz = await load(PROFILES[0], '/', 'gzip');
const br = await load(PROFILES[0], '/', 'br, gzip');
console.log('\n== / by encoding (one unthrottled run)');
for (const k of ['wasm', 'js', 'css', 'document']) {
  console.log(`  ${k.padEnd(8)} brotli ${kib(br.cold[k] ?? 0).padStart(10)}  gzip ${kib(gz.cold[k] ?? 0).padStart(10)}`);
}
await browser.close();
