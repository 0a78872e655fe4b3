// Cold first load of a running Switchboard as a person sees it: bytes per asset, First
// Contentful Paint and the moment the page is live (hydrated and its socket's `Connected`
// in: `data-live-at` on the body), for `/` and a session page, with no throttling and under
// the "slow 4G" profile (150 ms round trip, 1.6 Mbps down, 750 kbps up) at a phone's
// viewport; then the bytes of a repeat visit (same browser, warm cache). Bytes are counted
// until live (what going live cost) and after the network is idle (with what the page
// fetches once live: the session pane's module on `/`); per asset, in brotli and gzip. On a
// session page, also when its pane was built in the browser (`data-pane-at`; the page goes
// live with the shell's code and the server's markup of the pane, whose module comes after;
// a release without that, whose pane was hydrated before it went live, counts live).
//   node end2end/bench/first-load.mjs "http://127.0.0.1:PORT/?token=<token>" [runs] [session-id]
//     [--previous "http://127.0.0.1:PORT2/?token=<token>" session-id]
// Starts nothing: pass the login URL the server prints (the token is accepted on any path,
// once per fresh context) and, for `/s/<id>`, a session id; `--previous` measures a second
// server (the previous release) in the same run. Medians over `runs` (default 5).
import { chromium } from '@playwright/test';

const args = process.argv.slice(2);
const previousAt = args.indexOf('--previous');
const previous = previousAt >= 0 ? args.splice(previousAt, 3).slice(1) : null;
const [loginUrl, runsArg = '5', session] = args;
if (!loginUrl) {
  console.error('usage: node end2end/bench/first-load.mjs <login URL> [runs] [session-id] [--previous <login URL> <session-id>]');
  process.exit(2);
}
const runs = Number(runsArg);
const SLOW_4G = { offline: false, latency: 150, downloadThroughput: (1.6e6 / 8), uploadThroughput: (750e3 / 8) };
const PROFILES = [
  { name: 'unthrottled, desktop', viewport: { width: 1280, height: 720 }, network: null },
  { name: 'slow 4G, phone 390x844', viewport: { width: 390, height: 844 }, network: SLOW_4G },
];
const pagesOf = (id) => [['/', '/'], ...(id ? [['/s/<id>', `/s/${id}`]] : [])];
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

/** Counts what the page transfers, per kind (or, with `perAsset`, per file), from CDP's
 * network events: of the requests finished by `until` (epoch ms), or all finished ones. */
function meter(cdp, perAsset = false) {
  const reqs = new Map();
  let wallOffset = 0; // CDP's monotonic seconds to epoch seconds
  const get = (id) => reqs.get(id) ?? reqs.set(id, { bytes: 0 }).get(id);
  cdp.on('Network.requestWillBeSent', (e) => {
    wallOffset = e.wallTime - e.timestamp;
    Object.assign(get(e.requestId), { url: e.request.url, type: e.type });
  });
  cdp.on('Network.responseReceived', (e) => {
    const enc = Object.entries(e.response.headers).find(([k]) => k.toLowerCase() === 'content-encoding');
    Object.assign(get(e.requestId), { encoding: enc ? enc[1] : 'identity', type: e.type });
  });
  cdp.on('Network.loadingFinished', (e) => {
    Object.assign(get(e.requestId), { bytes: e.encodedDataLength, finishedAt: (e.timestamp + wallOffset) * 1000 });
  });
  return (until = Infinity) => {
    const byKind = {};
    for (const r of reqs.values()) {
      if (!r.url || r.url.startsWith('data:') || !(r.finishedAt <= until)) continue;
      const k = perAsset ? `${kindOf(r.url, r.type)} ${new URL(r.url).pathname}` : kindOf(r.url, r.type);
      byKind[k] = (byKind[k] ?? 0) + r.bytes;
    }
    return byKind;
  };
}

/** One cold load of `path` (logging in through its `?token=`), then one repeat visit. */
async function load(base, profile, path, acceptEncoding, perAsset = false) {
  const context = await browser.newContext({ viewport: profile.viewport });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  if (profile.network) await cdp.send('Network.emulateNetworkConditions', profile.network);
  if (acceptEncoding) await cdp.send('Network.setExtraHTTPHeaders', { headers: { 'Accept-Encoding': acceptEncoding } });
  const url = new URL(base);
  url.pathname = path;
  let bytes = meter(cdp, perAsset);
  await page.goto(url.toString(), { waitUntil: 'load' });
  await page.waitForSelector('body[data-live-at]', { timeout: 60_000 });
  const { liveAt, ...timing } = await page.evaluate(() => ({
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
    live: Number(document.body.dataset.liveAt) - performance.timeOrigin,
    liveAt: Number(document.body.dataset.liveAt),
  }));
  await page.waitForLoadState('networkidle');
  if (path !== '/') {
    await page.waitForSelector('body[data-pane-at]', { timeout: 5_000 }).catch(() => {});
    const paneAt = await page.evaluate(() => Number(document.body.dataset.paneAt));
    timing.pane = Number.isNaN(paneAt) ? timing.live : paneAt - await page.evaluate(() => performance.timeOrigin);
  }
  const untilLive = bytes(liveAt);
  const cold = bytes();
  // A repeat visit: the same browser, cache warm, logged in.
  const again = await context.newPage();
  const cdp2 = await context.newCDPSession(again);
  await cdp2.send('Network.enable');
  bytes = meter(cdp2);
  await again.goto(new URL(path, base).toString(), { waitUntil: 'load' });
  await again.waitForSelector('body[data-live-at]', { timeout: 60_000 });
  await again.waitForLoadState('networkidle');
  const warm = bytes();
  await context.close();
  return { ...timing, untilLive, cold, warm };
}

const sum = (byKind) => Object.values(byKind).reduce((a, b) => a + b, 0);
const byKindLine = (samples, key) => {
  const kinds = [...new Set(samples.flatMap((s) => Object.keys(s[key])))];
  return `${kinds.map((k) => `${k} ${kib(median(samples.map((s) => s[key][k] ?? 0)))}`).join(', ')}; total ${kib(median(samples.map((s) => sum(s[key]))))}`;
};

/** Every figure for one server. */
async function measure(name, base, id) {
  console.log(`\n######## ${name}`);
  for (const profile of PROFILES) {
    for (const [label, path] of pagesOf(id)) {
      const samples = [];
      for (let run = 0; run < runs; run++) samples.push(await load(base, profile, path));
      console.log(`\n== ${label}, ${profile.name}, ${runs} runs, medians`);
      console.log(`  bytes until live: ${byKindLine(samples, 'untilLive')}`);
      console.log(`  bytes at idle:    ${byKindLine(samples, 'cold')}`);
      const pane = path === '/' ? '' : `; pane built ${median(samples.map((s) => s.pane)).toFixed(0)} ms`;
      console.log(`  first contentful paint ${median(samples.map((s) => s.fcp)).toFixed(0)} ms; live ${median(samples.map((s) => s.live)).toFixed(0)} ms${pane}`);
      console.log(`  repeat visit: ${kib(median(samples.map((s) => sum(s.warm))))} transferred`);
    }
  }
  // Each asset in brotli and in gzip alone (a browser or proxy without brotli), at idle,
  // unthrottled, one run each.
  for (const [label, path] of pagesOf(id)) {
    const br = (await load(base, PROFILES[0], path, 'br, gzip', true)).cold;
    const gz = (await load(base, PROFILES[0], path, 'gzip', true)).cold;
    console.log(`\n== ${label} per asset (one unthrottled run each)`);
    for (const asset of Object.keys(br).sort()) {
      console.log(`  ${asset.padEnd(72)} brotli ${kib(br[asset]).padStart(10)}  gzip ${kib(gz[asset] ?? 0).padStart(10)}`);
    }
    console.log(`  ${'total'.padEnd(72)} brotli ${kib(sum(br)).padStart(10)}  gzip ${kib(sum(gz)).padStart(10)}`);
  }
}

await measure('this server', loginUrl, session);
if (previous) await measure('previous release', previous[0], previous[1]);
await browser.close();
