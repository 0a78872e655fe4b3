// Realtime robustness in the browser: the socket dropping mid-stream, two browser tabs on
// one server staying consistent (also their unread badges), and the per-session sync dot.
import { test, expect, Page } from '@playwright/test';
import { assistantMessages, newSession, sessionFolder, sessionItem, sessionTab, syncDot, url } from './helpers';

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

test('viewing a session in one browser tab clears its unread badge in another', async ({ context }) => {
  const first = await context.newPage();
  const second = await context.newPage();
  await first.goto(url());
  await second.goto(url());
  await expect(second.getByTestId('new-session-button')).toBeVisible();

  // X streams on in the first tab's background while it shows another session.
  const x = await newSession(first, '/slow 4');
  await expect(assistantMessages(first).last()).toContainText('tick 1');
  await newSession(first, 'meanwhile elsewhere');
  await expect(assistantMessages(first).last()).toContainText('Echo: meanwhile elsewhere');
  const badge = sessionTab(first, x).getByTestId('unread-badge');
  await expect(badge).toBeVisible();
  await expect(sessionItem(first, x).getByTestId('unread-badge')).toBeVisible();
  // Still unread once the turn is over: nobody has looked at it yet.
  await expect(sessionTab(first, x).getByTestId('session-state-badge')).toHaveAttribute('data-state', 'idle', {
    timeout: 15_000,
  });
  await expect(badge).toBeVisible();

  // The second tab opens X; the first tab's badge clears without it touching anything.
  await sessionItem(second, x).click();
  await expect(second.getByTestId('message-list')).toContainText('tick 40');
  await expect(badge).toHaveCount(0);
  await expect(sessionItem(first, x).getByTestId('unread-badge')).toHaveCount(0);

  // While the second tab shows X, new output there is no news in the first either.
  await second.getByTestId('chat-input').fill('seen in the second tab');
  await second.getByTestId('chat-input').press('Enter');
  await expect(assistantMessages(second).last()).toContainText('Echo: seen in the second tab');
  await expect(sessionItem(first, x)).toContainText('Echo: seen in the second tab');
  await expect(badge).toHaveCount(0);
  await expect(sessionItem(first, x).getByTestId('unread-badge')).toHaveCount(0);

  // A hidden page shows nothing: output after the second tab is hidden is news again in
  // the first, and showing the page again reads it.
  await second.getByTestId('chat-input').fill('/slow 3');
  await second.getByTestId('chat-input').press('Enter');
  await expect(assistantMessages(second).last()).toContainText('tick 1');
  await setHidden(second, true);
  await expect(badge).toBeVisible();
  await setHidden(second, false);
  await expect(badge).toHaveCount(0);
});

/** Makes the page report itself hidden or visible, as switching browser tabs would. */
async function setHidden(page: Page, hidden: boolean) {
  await page.evaluate((hidden) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
    Object.defineProperty(document, 'visibilityState', {
      configurable: true,
      get: () => (hidden ? 'hidden' : 'visible'),
    });
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
  }, hidden);
}

test('the sync dot follows the connection', async ({ page, context }) => {
  await page.goto(url());
  const id = await newSession(page, 'stay in sync');
  await expect(syncDot(page, id)).toHaveAttribute('data-sync', 'connected');
  await expect(sessionItem(page, id).getByTestId('sync-dot')).toHaveAttribute('data-sync', 'connected');
  await expect(syncDot(page, id)).toHaveAttribute('title', /.+/);

  await context.setOffline(true);
  await expect(syncDot(page, id)).toHaveAttribute('data-sync', /^(reconnecting|disconnected)$/);
  await expect(sessionItem(page, id).getByTestId('sync-dot')).toHaveAttribute(
    'data-sync',
    /^(reconnecting|disconnected)$/,
  );
  await context.setOffline(false);
  await expect(syncDot(page, id)).toHaveAttribute('data-sync', 'connected', { timeout: 15_000 });
  // Live again: a new message goes through.
  await page.getByTestId('chat-input').fill('back online');
  await page.getByTestId('chat-input').press('Enter');
  await expect(assistantMessages(page).last()).toContainText('Echo: back online');
});

test('a pending permission request survives a reload and can still be answered', async ({ page }) => {
  const { existsSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  await page.goto(url());
  const id = await newSession(page, '/permission');
  await expect(page.getByTestId('permission-card')).toBeVisible();
  // The session's own folder (its project's, or its worktree).
  const target = join(await sessionFolder(page), 'demo.txt');
  rmSync(target, { force: true });
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
