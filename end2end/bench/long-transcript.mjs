// A 10,000-entry transcript in Chromium: how long opening it and switching to it take, how
// paging back through it goes, and what the page holds (DOM rows, nodes, JS heap).
//   node end2end/bench/long-transcript.mjs [switchboard binary] [runs]
// Seeds a fresh data dir with `switchboard seed-transcript` (a 10,000-entry session and a
// short one), starts `switchboard serve --no-auth` on a free loopback port, and drives
// headless Chromium. Times are measured inside the page from the mouse press (its event timestamp)
// to the frame where the session's newest row is in the DOM and laid out.
import { chromium } from '@playwright/test';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = process.argv[2] ?? process.env.SWITCHBOARD_BIN
  ?? `${process.env.CARGO_TARGET_DIR ?? `${process.env.HOME}/.cache/switchboard-target`}/release/switchboard`;
const runs = Number(process.argv[3] ?? '10');
const entries = Number(process.env.ENTRIES ?? '10000');

const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-long-'));
const seed = (n, title) => execFileSync(bin, ['seed-transcript', '--data-dir', dataDir,
  '--entries', String(n), '--title', title]).toString().trim();
const longId = seed(entries, 'Long session');
const shortId = seed(8, 'Short session');

const server = spawn(bin, ['serve', '--addr', '127.0.0.1:0', '--data-dir', dataDir, '--no-auth'],
  { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } });
const base = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (chunk) => {
    out += chunk;
    const m = out.match(/Switchboard listening on (http:\/\/\S+)/);
    if (m) resolve(m[1]);
  });
  server.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
});

const launch = () => chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ...(process.env.BENCH_CHROMIUM_ARGS ? process.env.BENCH_CHROMIUM_ARGS.split(' ') : [])],
});
const browser = await launch();
/** A new page on the app, hydrated and connected, that logs every socket frame with its
 * time (to split an open into request, server and render). */
/** Per page: ms from navigation start until hydrated and connected (as polled, so a bit late). */
const readyTimes = [];
async function openPage(inBrowser = browser) {
  const page = await inBrowser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (e) => console.error('page error:', e.message.slice(0, 500)));
  page.on('crash', () => console.error('the page crashed'));
  page.on('console', (m) => { if (m.type() === 'error') console.error('console:', m.text().slice(0, 500)); });
  await page.addInitScript(() => {
    window.__frames = [];
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        this.addEventListener('message', (e) => window.__frames.push(
          { t: performance.now(), dir: 'in', size: e.data.length ?? e.data.size, head: String(e.data).slice(0, 40) }));
      }
      send(data) {
        window.__frames.push({ t: performance.now(), dir: 'out', size: data.length, head: String(data).slice(0, 40) });
        return super.send(data);
      }
    };
  });
  await page.goto(base);
  // Hydrated and connected: the sidebar lists both sessions from the socket.
  await page.locator(`[data-testid="session-item"][data-session-id="${longId}"]`).waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="connection-banner"]') === null);
  readyTimes.push(await page.evaluate(() => performance.now()));
  // A person looks at the page before clicking (and by then the warm-up after hydration,
  // components::warm, has long finished). BENCH_SETTLE_MS=0 clicks at once.
  await page.waitForTimeout(Number(process.env.BENCH_SETTLE_MS ?? '1000'));
  return page;
}

/** Clicks `selector` and resolves with the ms from the mouse press until the frame where the
 * long session's newest row is in the DOM and laid out. A requestAnimationFrame loop started
 * before the click checks every frame (and forces the layout the frame would do anyway), so
 * the figure does not wait for Playwright's own polling to come round. */
const marker = `Turn ${Math.ceil(entries / 4)}:`;
async function timeUntilNewest(page, selector, newest = marker) {
  // The clock starts at the press itself (the event's own timestamp), not when Playwright
  // begins its actionability checks: what a person waits for after clicking.
  await page.evaluate((newest) => {
    window.__benchStart = undefined;
    window.__benchDone = undefined;
    document.addEventListener('mousedown', (e) => { window.__benchStart = e.timeStamp; },
      { capture: true, once: true });
    const check = () => {
      if (window.__benchStart !== undefined) {
        const list = document.querySelector('[data-testid="message-list"]');
        const rows = list ? list.querySelectorAll('[data-testid="message"]') : [];
        const last = rows[rows.length - 1];
        if (last && last.textContent.includes(newest) && last.getBoundingClientRect().height > 0) {
          window.__benchDone = performance.now() - window.__benchStart;
          return;
        }
      }
      requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  }, newest);
  await page.locator(selector).click();
  const handle = await page.waitForFunction(() => window.__benchDone, null, { timeout: 30_000 });
  return handle.jsonValue();
}

/** Where the time of the last open went: press -> request sent -> tail frame in -> painted. */
async function openSplit(page, total) {
  const split = await page.evaluate(() => {
    const start = window.__benchStart;
    const after = window.__frames.filter((f) => f.t >= start);
    const sent = after.find((f) => f.dir === 'out');
    const tail = after.find((f) => f.dir === 'in' && f.head.includes('history_start'));
    return sent && tail ? { sent: sent.t - start, tail: tail.t - start, tailBytes: tail.size } : null;
  });
  return split
    ? `request sent ${ms(split.sent)}, tail frame in ${ms(split.tail)} (${split.tailBytes} bytes), painted ${ms(total)}`
    : 'no tail frame seen';
}

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const pct = (xs, p) => sorted(xs)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const ms = (x) => `${x.toFixed(1)} ms`;

const item = (id) => `[data-testid="session-item"][data-session-id="${id}"]`;
const tab = (id) => `[data-testid="session-tab"][data-session-id="${id}"]`;

// The first open after a cold start: a new browser, nothing cached, no WASM compiled yet
// (V8 compiles each function on its first call, so this open pays for decoding and
// rendering code as well).
const page = await openPage();
const cdp = await page.context().newCDPSession(page);
await cdp.send('Performance.enable');
// BENCH_TRACE=1: the main thread's tasks during this open, in order.
if (process.env.BENCH_TRACE) await browser.startTracing(page, { categories: (process.env.BENCH_TRACE_CATEGORIES ?? 'devtools.timeline,blink,v8.execute').split(',') });
// BENCH_PROFILE=1: V8's sampling profile of this open, by self time (function names need a
// WASM that keeps its name section; see BENCHMARKS.md, "Profiling an open").
if (process.env.BENCH_PROFILE) {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
}
const open = await timeUntilNewest(page, item(longId));
const coldSplit = await openSplit(page, open);
if (process.env.BENCH_PROFILE) {
  const { profile } = await cdp.send('Profiler.stop');
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  profile.samples.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}`;
    self.set(name, (self.get(name) ?? 0) + (dt[i] ?? 0) / 1000);
  });
  [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 60)
    .forEach(([name, t]) => console.log(`${t.toFixed(1).padStart(7)} ms  ${name.slice(0, 160)}`));
}
if (process.env.BENCH_TRACE) {
  const trace = JSON.parse((await browser.stopTracing()).toString());
  if (process.env.BENCH_TRACE_FILE) (await import('node:fs')).writeFileSync(process.env.BENCH_TRACE_FILE, JSON.stringify(trace));
  const main = trace.traceEvents.find((e) => e.name === 'thread_name' && e.args.name === 'CrRendererMain');
  const events = trace.traceEvents.filter((e) => e.tid === main?.tid && e.ph === 'X' && e.dur > 1000);
  const t0 = Math.min(...events.map((e) => e.ts));
  events.sort((a, b) => a.ts - b.ts).slice(0, 80).forEach((e) => console.log(
    `${((e.ts - t0) / 1000).toFixed(1).padStart(7)} +${(e.dur / 1000).toFixed(1).padStart(6)} ms ${e.name} ${e.args?.data?.type ?? e.args?.data?.functionName ?? ''}`));
}

// Open the short one too, then switch between the two tabs.
await page.locator(item(shortId)).click();
await page.locator('[data-testid="message-list"]', { hasText: 'Turn 2:' }).waitFor();
const switches = [];
for (let i = 0; i < runs; i++) {
  switches.push(await timeUntilNewest(page, tab(longId)));
  await page.locator(tab(shortId)).click();
  await page.locator('[data-testid="message-list"]', { hasText: 'Turn 2:' }).waitFor();
}
await page.locator(tab(longId)).click();
await page.locator('[data-testid="message-list"] [data-testid="message"]').last().waitFor();

// Scroll to the top repeatedly: rows come from memory, then pages from the server.
const scroll = await page.evaluate(async () => {
  const list = document.querySelector('[data-testid="message-list"]');
  const firstKey = () => list.querySelector('.entry')?.getAttribute('data-key');
  const frame = () => new Promise((r) => requestAnimationFrame(r));
  const steps = [];
  let maxRows = 0;
  for (let i = 0; i < 60; i++) {
    const before = firstKey();
    const start = performance.now();
    list.scrollTop = 0;
    list.dispatchEvent(new Event('scroll'));
    let waited = 0;
    // A step's rows keep the reader's place (the top row stays put, so the list is no longer
    // at its top): scroll up again while waiting, as a reader would.
    while (firstKey() === before && waited < 3000) {
      await frame();
      waited = performance.now() - start;
      if (list.scrollTop > 0) {
        list.scrollTop = 0;
        list.dispatchEvent(new Event('scroll'));
      }
    }
    if (firstKey() === before) break;
    steps.push(performance.now() - start);
    maxRows = Math.max(maxRows, list.querySelectorAll('[data-testid="message"]').length);
  }
  return { steps, maxRows, topKey: firstKey() };
});

// Detached rows count as nodes until collected: collect first, then count what is live.
await cdp.send('HeapProfiler.collectGarbage');
const metrics = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics
  .map((m) => [m.name, m.value]));
const rowsInDom = await page.locator('[data-testid="message-list"] [data-testid="message"]').count();

await page.close();
// Opens on later page loads (as on any return visit, the browser has the app cached): each
// a new page, with its own socket, that has not opened the session yet. The first page is
// closed first: pages of one browser share its main thread.
const reopens = [];
let reopenSplit = '';
for (let i = 0; i < Math.min(runs, 5); i++) {
  const again = await openPage();
  const took = await timeUntilNewest(again, item(longId));
  reopens.push(took);
  reopenSplit = await openSplit(again, took);
  await again.close();
}

// Opens on a page that has already shown another session: the page's one-time costs
// (compiling the pane's code, the fonts its text needs) are paid, the long session's are not.
// The short session's open on the same fresh pages tells the page's one-time costs from
// the long session's own.
const warmOpens = [];
const shortOpens = [];
for (let i = 0; i < Math.min(runs, 5); i++) {
  const again = await openPage();
  shortOpens.push(await timeUntilNewest(again, item(shortId), 'Turn 2:'));
  warmOpens.push(await timeUntilNewest(again, item(longId)));
  await again.close();
}

// More cold starts: each a new browser (no compiled code, no fonts in use), one open each.
// One sample per browser is noisy on a small machine; these give the spread.
const colds = [open];
for (let i = 1; i < Number(process.env.COLD_RUNS ?? '5'); i++) {
  const fresh = await launch();
  const coldPage = await openPage(fresh);
  colds.push(await timeUntilNewest(coldPage, item(longId)));
  await fresh.close();
}

console.log(`seeded with --entries:          ${entries} (2,500 turns make 10,350 entries, see seed.rs)`);
console.log(`open, first after a cold start:  ${ms(open)}`);
console.log(`  (press -> ${coldSplit})`);
console.log(`open, cold starts (${colds.length}):        p50 ${ms(pct(colds, 0.5))}, max ${ms(Math.max(...colds))} [${colds.map((x) => x.toFixed(0)).join(', ')}]`);
console.log(`page hydrated and connected:     p50 ${ms(pct(readyTimes, 0.5))} after navigation start (${readyTimes.length} pages)`);
console.log(`open, later page loads (${reopens.length}):   p50 ${ms(pct(reopens, 0.5))}, max ${ms(Math.max(...reopens))}`);
console.log(`  (last: press -> ${reopenSplit})`);
console.log(`open, after another session (${warmOpens.length}): p50 ${ms(pct(warmOpens, 0.5))}, max ${ms(Math.max(...warmOpens))}`);
console.log(`  (that other, 8-entry session, opened first on a fresh page: p50 ${ms(pct(shortOpens, 0.5))}, max ${ms(Math.max(...shortOpens))})`);
console.log(`switch back to it (${runs} runs):   p50 ${ms(pct(switches, 0.5))}, max ${ms(Math.max(...switches))}`);
console.log(`scroll-to-top steps:            ${scroll.steps.length} (p50 ${ms(pct(scroll.steps, 0.5))}, max ${ms(Math.max(...scroll.steps))}), top row key ${scroll.topKey}`);
console.log(`rows in the DOM:                ${rowsInDom} now, at most ${scroll.maxRows} while scrolling`);
console.log(`DOM nodes:                      ${metrics.Nodes}`);
console.log(`JS heap used:                   ${(metrics.JSHeapUsedSize / 1048576).toFixed(1)} MiB (total ${(metrics.JSHeapTotalSize / 1048576).toFixed(1)} MiB)`);

await browser.close();
server.kill('SIGTERM');
rmSync(dataDir, { recursive: true, force: true });
