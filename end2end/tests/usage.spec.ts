// The Usage page: two demo turns at a known price show up in the day, project and agent
// charts and their tables, adding up to what the turns' own lines say they cost; the
// period lives in the address (a reload keeps it); a period without turns says so; a
// period too long is refused in words; on a phone the charts fit the width. Its own server
// (a fresh data dir), so the figures are exactly this spec's turns.
import { test, expect, Page } from '@playwright/test';
import { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assistantMessages, newSession, startOwnServer, stopOwnServer, watchErrors } from './helpers';

// $0.01 a word: "hello there" (2 words) and its reply "Echo: hello there" (3 words) make
// 5 tokens and $0.05 a turn (see src/server/demo_agent).
const USD_PER_TOKEN = 0.01;
const TURN_TOKENS = 5;

let server: ChildProcess | undefined;
let dataDir: string;
let base: string;

test.beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'switchboard-usage-e2e-'));
  const started = await startOwnServer(dataDir, '127.0.0.1:0', {
    SWITCHBOARD_DEMO_USD_PER_TOKEN: String(USD_PER_TOKEN),
  });
  server = started.child;
  base = started.base;
});

test.afterEach(() => stopOwnServer(server, dataDir));

/** A UTC day `offset` days from today, `YYYY-MM-DD`. */
function utcDay(offset = 0): string {
  return new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
}

const chart = (page: Page, kind: string) =>
  page.locator(`[data-testid="usage-chart"][data-chart="${kind}"]`);
const table = (page: Page, kind: string) =>
  page.locator(`[data-testid="usage-table"][data-table="${kind}"]`);

/** Sends "hello there" twice in a new demo session; returns the cost each turn's line shows. */
async function twoDemoTurns(page: Page): Promise<number[]> {
  await page.goto(base);
  await expect(page.getByTestId('new-session-button')).toBeVisible();
  await newSession(page, 'hello there');
  await expect(assistantMessages(page).last()).toHaveText(/Echo: hello there/);
  await expect(page.getByTestId('turn-usage')).toHaveCount(1);
  await page.getByTestId('chat-input').fill('hello there');
  await page.getByTestId('chat-input').press('Enter');
  await expect(page.getByTestId('turn-usage')).toHaveCount(2);
  const lines = await page.getByTestId('turn-usage').allInnerTexts();
  return lines.map((line) => {
    const cost = line.match(/\$(\d+\.\d+)/);
    expect(cost, line).not.toBeNull();
    return Number(cost![1]);
  });
}

test('two demo turns show in the charts and tables, adding up to what the turns cost', async ({ page }) => {
  const errors = watchErrors(page);
  const costs = await twoDemoTurns(page);
  const expected = TURN_TOKENS * USD_PER_TOKEN;
  expect(costs.map((c) => c.toFixed(4))).toEqual([expected.toFixed(4), expected.toFixed(4)]);
  const micro = Math.round(costs.reduce((a, b) => a + b, 0) * 1e6);

  // From the sidebar: the last 7 days, the link marked.
  await page.getByTestId('usage-link').click();
  await expect(page).toHaveURL(/\/usage$/);
  await expect(page.getByTestId('usage-link')).toHaveAttribute('aria-current', 'page');
  await expect(page.getByTestId('usage-page')).toBeVisible();
  await expect(page.locator('[data-testid="usage-preset"][data-preset="7d"]')).toHaveAttribute('aria-current', 'page');

  // Three charts, each an image with a title, in money (the demo reports a cost).
  for (const kind of ['day', 'project', 'agent']) {
    await expect(chart(page, kind)).toHaveCount(1);
    await expect(chart(page, kind)).toHaveAttribute('role', 'img');
    await expect(chart(page, kind)).toHaveAttribute('data-unit', 'usd');
    expect((await chart(page, kind).locator('title').first().textContent())?.trim()).toBeTruthy();
  }

  // Today's bar holds both turns and is drawn; the totals match the turns' own lines.
  const todayBar = chart(page, 'day').locator(`[data-testid="usage-bar"][data-day="${utcDay()}"]`);
  await expect(todayBar).toHaveAttribute('data-micro-usd', String(micro));
  expect(Number(await todayBar.getAttribute('height'))).toBeGreaterThan(0);
  await expect(chart(page, 'day').getByTestId('usage-bar')).toHaveCount(7);
  const total = page.getByTestId('usage-total');
  await expect(total).toHaveAttribute('data-micro-usd', String(micro));
  await expect(total).toHaveAttribute('data-tokens', String(2 * TURN_TOKENS));
  await expect(total).toHaveAttribute('data-turns', '2');
  await expect(total).toContainText('$0.1000');
  for (const kind of ['day', 'project', 'agent']) {
    const foot = table(page, kind).getByTestId('usage-table-total');
    await expect(foot).toHaveAttribute('data-micro-usd', String(micro));
    await expect(foot).toContainText('$0.1000');
  }
  await expect(table(page, 'agent').locator('tbody tr')).toHaveCount(1);
  await expect(table(page, 'agent').locator('tbody tr')).toContainText(['Demo']);
  await expect(table(page, 'agent').locator('tbody tr td').first()).toHaveText('$0.1000');
  await expect(table(page, 'project').locator('tbody tr th')).toHaveText(['Playground']);
  await expect(table(page, 'day').locator('tbody tr')).toHaveCount(7);
  // The demo's cost is billed, not estimated: no "≈" and no legend.
  await expect(page.getByTestId('usage-estimate-note')).toHaveCount(0);
  await expect(page.getByTestId('usage-page')).not.toContainText('≈');

  // Tokens instead of money, on request.
  await page.locator('[data-testid="usage-unit"][data-unit="tokens"]').click();
  await expect(chart(page, 'day')).toHaveAttribute('data-unit', 'tokens');
  await expect(chart(page, 'agent')).toContainText(String(2 * TURN_TOKENS));
  expect(errors).toEqual([]);
});

test('the period lives in the address, and an empty or too long one says so', async ({ page }) => {
  const errors = watchErrors(page);
  await twoDemoTurns(page);
  await page.getByTestId('usage-link').click();
  await expect(page.getByTestId('usage-total')).toHaveAttribute('data-turns', '2');

  // A preset changes the address; a reload keeps the period.
  const asked = page.waitForRequest(/\/api\/usage_for_period/);
  await page.locator('[data-testid="usage-preset"][data-preset="30d"]').click();
  const endpoint = (await asked).url();
  const month = `from=${utcDay(-29)}&to=${utcDay()}`;
  await expect(page).toHaveURL(new RegExp(`/usage\\?${month}$`));
  await expect(chart(page, 'day').getByTestId('usage-bar')).toHaveCount(30);
  await expect(page.locator('[data-testid="usage-preset"][data-preset="30d"]')).toHaveAttribute('aria-current', 'page');
  await page.reload();
  await expect(page).toHaveURL(new RegExp(`/usage\\?${month}$`));
  await expect(page.locator('[data-testid="usage-preset"][data-preset="30d"]')).toHaveAttribute('aria-current', 'page');
  await expect(chart(page, 'day').getByTestId('usage-bar')).toHaveCount(30);
  await expect(page.getByTestId('usage-from')).toHaveValue(utcDay(-29));
  await expect(page.getByTestId('usage-total')).toHaveAttribute('data-turns', '2');

  // Custom dates without turns: one plain sentence, no charts.
  await page.getByTestId('usage-from').fill('2020-01-01');
  await page.getByTestId('usage-to').fill('2020-01-31');
  await page.getByTestId('usage-apply').click();
  await expect(page).toHaveURL(/\/usage\?from=2020-01-01&to=2020-01-31$/);
  await expect(page.getByTestId('usage-empty')).toHaveText(
    'Nothing was spent from 2020-01-01 to 2020-01-31: no turn ended in this period.',
  );
  await expect(page.getByTestId('usage-chart')).toHaveCount(0);
  await expect(page.locator('[data-testid="usage-preset"][aria-current="page"]')).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId('usage-empty')).toBeVisible();
  await expect(page.getByTestId('usage-to')).toHaveValue('2020-01-31');

  // More than 366 days, or not a date: refused in words, by the page and by the server.
  await page.goto(`${base}/usage?from=2020-01-01&to=2021-12-31`);
  await expect(page.getByTestId('usage-error')).toContainText('at most 366 days');
  await page.goto(`${base}/usage?from=yesterday&to=2021-12-31`);
  await expect(page.getByTestId('usage-error')).toContainText('is not a date');
  const refused = await page.request.post(endpoint, {
    form: { from: '2020-01-01', to: '2022-01-01' },
  });
  expect(refused.ok()).toBe(false);
  expect(await refused.text()).toContain('at most 366 days');
  expect(errors).toEqual([]);
});

test('on a phone the charts fit the width and the page does not scroll sideways', async ({ page }) => {
  await twoDemoTurns(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}/usage`);
  await expect(chart(page, 'day')).toBeVisible();
  for (const kind of ['day', 'project', 'agent']) {
    const box = await chart(page, kind).boundingBox();
    expect(box).not.toBeNull();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
  }
  const pane = page.getByTestId('usage-page');
  const overflow = await pane.evaluate((el) => el.scrollWidth - el.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});
