// A generated 10,000-entry session: it opens at its newest rows, scrolling up brings older
// turns from the server page by page, the DOM holds a bounded window of rows, and switching
// away and back shows the newest rows again. Timing budgets are measured by
// end2end/bench/long-transcript.mjs (BENCHMARKS.md), not asserted here.
import { test, expect, Page } from '@playwright/test';
import { ChildProcess, execFileSync } from 'node:child_process';
import { startOwnServer, stopOwnServer } from './helpers';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ENTRIES = 10_000;
const TURNS = ENTRIES / 4;
/** At most this many rows are rendered (MAX_ROWS in src/components/messages.rs). */
const MAX_ROWS = 160;

let server: ChildProcess;
let base: string;
let longId: string;
let shortId: string;
let dataDir: string;

test.beforeAll(async () => {
  const bin = process.env.SWITCHBOARD_BIN!;
  dataDir = mkdtempSync(join(tmpdir(), 'switchboard-long-e2e-'));
  const seed = (n: number, title: string) =>
    execFileSync(bin, ['seed-transcript', '--data-dir', dataDir, '--entries', String(n), '--title', title])
      .toString()
      .trim();
  longId = seed(ENTRIES, 'Long session');
  shortId = seed(8, 'Short session');
  // Its own server: the shared one's sidebar must not gain a 10,000-entry session.
  ({ child: server, base } = await startOwnServer(dataDir));
});

test.afterAll(() => stopOwnServer(server, dataDir));

const rows = (page: Page) => page.locator('[data-testid="message-list"] [data-testid="message"]');
const item = (page: Page, id: string) =>
  page.locator(`[data-testid="session-item"][data-session-id="${id}"]`);
const tab = (page: Page, id: string) =>
  page.locator(`[data-testid="session-tab"][data-session-id="${id}"]`);

/** Scrolls the transcript to the top once and lets the window move. */
async function scrollToTop(page: Page) {
  await page.evaluate(() => {
    const list = document.querySelector('[data-testid="message-list"]')!;
    list.scrollTop = 0;
    list.dispatchEvent(new Event('scroll'));
  });
}

test('a 10,000-entry session pages from the log and keeps a bounded DOM', async ({ page }) => {
  await page.goto(base);
  await item(page, longId).click();
  await expect(rows(page).last()).toContainText(`Turn ${TURNS}:`);
  expect(await rows(page).count()).toBeLessThanOrEqual(MAX_ROWS);
  await expect(page.getByTestId('load-earlier')).toBeVisible();

  // Scroll up past the first page the server sent (20 turns): older turns must come from
  // the server, and the window stays bounded while it moves.
  const oldTurn = TURNS - 60;
  await expect
    .poll(
      async () => {
        await scrollToTop(page);
        return page.locator('[data-testid="message-list"]').textContent();
      },
      { timeout: 30_000, intervals: [50] },
    )
    .toContain(`Question ${oldTurn}:`);
  expect(await rows(page).count()).toBeLessThanOrEqual(MAX_ROWS);
  // The newest rows left the DOM; "Jump to latest" brings them back.
  await expect(rows(page).last()).not.toContainText(`Turn ${TURNS}:`);
  await page.getByTestId('jump-latest').click();
  await expect(rows(page).last()).toContainText(`Turn ${TURNS}:`);

  // Switch to the short session and back: the long one opens at its newest rows again.
  await item(page, shortId).click();
  await expect(rows(page).last()).toContainText('Turn 2:');
  await tab(page, longId).click();
  await expect(rows(page).last()).toContainText(`Turn ${TURNS}:`);
  expect(await rows(page).count()).toBeLessThanOrEqual(MAX_ROWS);
  // Markdown-ish content and tool cards of the generated turns are there.
  await expect(page.getByTestId('tool-call').last()).toBeVisible();
  await expect(page.getByTestId('turn-usage').last()).toContainText('in ·');
});

test('the session pane warms up after hydration and leaves nothing behind', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const sent: string[] = [];
  page.on('websocket', (ws) => ws.on('framesent', (frame) => sent.push(String(frame.payload))));
  // Anything of the sample that ever reaches the page's DOM, even for a moment (the socket's
  // session list would replace a leaked sidebar entry soon after).
  const sample = '00000000-0000-0000-0000-000000000000';
  await page.addInitScript((sample) => {
    (window as any).__sampleSeen = [];
    new MutationObserver((changes) => {
      for (const change of changes) {
        for (const node of change.addedNodes) {
          if (node instanceof Element && (node.outerHTML.includes(sample) || node.outerHTML.includes('Sample notice'))) {
            (window as any).__sampleSeen.push(node.outerHTML.slice(0, 200));
          }
        }
      }
    }).observe(document, { childList: true, subtree: true });
  }, sample);
  await page.goto(base);
  // components::warm renders a sample session off-screen once the page has hydrated.
  await expect(page.locator('html')).toHaveAttribute('data-pane-warm', 'done');
  // The sample lived in a scratch store: the page's own sessions, tabs and URL are as they were.
  await expect(page.getByTestId('session-item')).toHaveCount(2);
  await expect(page.getByTestId('session-tab')).toHaveCount(0);
  await expect(page.locator('.session-pane')).toHaveCount(0);
  expect(new URL(page.url()).pathname).toBe('/');
  // A real open works as before.
  await item(page, longId).click();
  await expect(rows(page).last()).toContainText(`Turn ${TURNS}:`);
  // By now the socket has sent everything it queued: none of it names the sample.
  expect(sent.filter((frame) => frame.includes(sample))).toEqual([]);
  expect(await page.evaluate(() => (window as any).__sampleSeen)).toEqual([]);
  expect(errors).toEqual([]);
});
