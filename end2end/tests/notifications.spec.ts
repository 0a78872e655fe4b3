// Web Notifications (issue 8): once allowed with `notifications-toggle`, a session that is
// not in view notifies when its turn ends; the session in front never does. The page's
// Notification is wrapped to record what the app constructs (headless Chromium shows none).
import { test, expect, Page } from '@playwright/test';
import { assistantMessages, newSession, sessionTab, url } from './helpers';

test.use({ permissions: ['notifications'] });

type Shown = { title: string; body: string; tag: string };

async function recordNotifications(page: Page) {
  await page.addInitScript(() => {
    const Real = window.Notification;
    const shown: { title: string; body: string; tag: string }[] = [];
    (window as unknown as { __notifications: typeof shown }).__notifications = shown;
    class Recording {
      static get permission() {
        return 'granted';
      }
      static requestPermission(callback?: (p: string) => void) {
        callback?.('granted');
        return Promise.resolve('granted');
      }
      onclick: unknown = null;
      constructor(title: string, options?: NotificationOptions) {
        shown.push({ title, body: options?.body ?? '', tag: options?.tag ?? '' });
        try {
          new Real(title, options).close();
        } catch {
          // Headless Chromium may refuse to show one; the record is what counts.
        }
      }
      close() {}
    }
    (window as unknown as { Notification: unknown }).Notification = Recording;
  });
}

const recorded = (page: Page) =>
  page.evaluate(() => (window as unknown as { __notifications: Shown[] }).__notifications);

test('a background session that ends its turn notifies; the visible one does not', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await recordNotifications(page);
  await page.goto(url());
  const toggle = page.getByTestId('notifications-toggle');
  await expect(toggle).toBeVisible();
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');

  // A turn that ends in front: no notification.
  const a = await newSession(page, 'notify alpha');
  await expect(assistantMessages(page).last()).toContainText('Echo: notify alpha');
  await expect(sessionTab(page, a).getByTestId('session-state-badge')).toHaveAttribute('data-state', 'idle');
  expect(await recorded(page)).toEqual([]);

  // A slow turn in A, then B in front: A's end is news.
  await page.getByTestId('chat-input').fill('/slow 3');
  await page.getByTestId('chat-input').press('Enter');
  await expect(sessionTab(page, a).getByTestId('session-state-badge')).toHaveAttribute('data-state', 'working');
  const b = await newSession(page, 'notify beta');
  await expect(assistantMessages(page).last()).toContainText('Echo: notify beta');
  await expect
    .poll(async () => (await recorded(page)).filter((n) => n.tag === a), { timeout: 15_000 })
    .toHaveLength(1);
  const [shown] = (await recorded(page)).filter((n) => n.tag === a);
  expect(shown.title).toBe('notify alpha');
  expect(shown.body).toContain('Finished its turn');

  // B's turns ended in front: none for B.
  await expect(sessionTab(page, b).getByTestId('session-state-badge')).toHaveAttribute('data-state', 'idle');
  expect((await recorded(page)).filter((n) => n.tag === b)).toEqual([]);

  // The choice survives a reload.
  await page.reload();
  await expect(page.getByTestId('notifications-toggle')).toHaveAttribute('aria-pressed', 'true');
  expect(errors).toEqual([]);
});
