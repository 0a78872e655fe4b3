// Realtime robustness in the browser: the socket dropping mid-stream, and two browser tabs
// on one server staying consistent.
import { test, expect, Page } from '@playwright/test';
import { newSession, sessionItem, url } from './helpers';

const messages = (page: Page) => page.locator('[data-testid="message-list"] [data-testid="message"]');

test('offline mid-stream: banner, queued send delivered once, transcript complete', async ({ page, context }) => {
  await page.goto(url());
  await newSession(page, '/slow 3');
  await expect(page.locator('[data-testid="message"][data-role="assistant"]').last()).toContainText('tick 2');

  await context.setOffline(true);
  await expect(page.getByTestId('connection-banner')).toBeVisible();
  // Sent while offline: queued, and delivered once when the socket is back.
  await page.getByTestId('chat-input').fill('sent while offline');
  await page.getByTestId('chat-input').press('Enter');
  await page.waitForTimeout(1500);
  await context.setOffline(false);

  await expect(page.getByTestId('connection-banner')).toHaveCount(0, { timeout: 15_000 });
  const reply = page.locator('[data-testid="message"][data-role="assistant"]', { hasText: 'Echo: sent while offline' });
  await expect(reply).toHaveCount(1, { timeout: 15_000 });
  await expect(page.locator('[data-testid="message"][data-role="user"]', { hasText: 'sent while offline' })).toHaveCount(1);
  // Every tick of the slow turn is there exactly once, in order.
  const slow = await page.locator('[data-testid="message"][data-role="assistant"]').first().innerText();
  const ticks = slow.match(/tick \d+/g) ?? [];
  expect(ticks).toEqual(Array.from({ length: 30 }, (_, i) => `tick ${i + 1}`));
  // A reload shows the same transcript: what the tab held is what the server stored.
  const before = await messages(page).allInnerTexts();
  await page.reload();
  await expect(messages(page)).toHaveCount(before.length);
  expect(await messages(page).allInnerTexts()).toEqual(before);
});

test('two browser tabs on one server stay consistent', async ({ context }) => {
  const first = await context.newPage();
  const second = await context.newPage();
  await first.goto(url());
  await second.goto(url());
  await expect(second.getByTestId('new-session-button')).toBeVisible();
  const id = await newSession(first, 'shared between tabs');
  // The other tab learns of it live, with its state and preview.
  await expect(sessionItem(second, id)).toBeVisible();
  await expect(sessionItem(second, id)).toContainText('Echo: shared between tabs');
  await sessionItem(second, id).click();
  await expect(second.getByTestId('message-list')).toContainText('Echo: shared between tabs');
  // Ending it in one tab removes it from the other.
  await first.getByTestId('end-session').click();
  await first.getByTestId('confirm-yes').click();
  await expect(sessionItem(first, id)).toHaveCount(0);
  await expect(sessionItem(second, id)).toHaveCount(0);
  // The tab that had it open is told why it went away; the one that ended it is not.
  await expect(second.getByTestId('toast')).toContainText('was ended in another window');
  await expect(first.getByTestId('toast')).toHaveCount(0);
});

test('a pending permission request survives a reload and can still be answered', async ({ page }) => {
  const { existsSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const target = join(process.env.SWITCHBOARD_E2E_WORKDIR!, 'demo.txt');
  rmSync(target, { force: true });
  await page.goto(url());
  const id = await newSession(page, '/permission');
  await expect(page.getByTestId('permission-card')).toBeVisible();
  await page.reload();
  await expect(page).toHaveURL(new RegExp(`/s/${id}$`));
  await expect(page.getByTestId('permission-card')).toBeVisible();
  await expect(sessionItem(page, id).getByTestId('session-state-badge')).toHaveAttribute(
    'data-state',
    'awaiting_permission',
  );
  await page.getByTestId('permission-allow').click();
  await expect(page.locator('[data-testid="message"][data-role="assistant"]').last()).toContainText('I wrote demo.txt');
  expect(existsSync(target)).toBe(true);
});
