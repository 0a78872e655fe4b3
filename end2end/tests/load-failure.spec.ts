// A part of the app whose code is fetched on demand (a split WASM module) and does not come
// (the network, or a release that replaced the page's modules): the page says so and
// offers to try again, and nothing else stops working. Before, a failed fetch panicked and
// aborted the whole WASM module.
import { test, expect } from '@playwright/test';
import { newSession, openApp, url } from './helpers';

test('a click-only part whose code does not load says so, and loads on "Try again"', async ({ page }) => {
  // Every fetch of the session pane's click-only parts fails, the warm-up's too.
  const blocked = '**/pkg/split_pane_extra_split.*.wasm';
  await page.route(blocked, (route) => route.abort());
  const errors = await openApp(page);
  await newSession(page, 'hello');
  // The rest of the app works without that module: a message goes and is answered.
  await page.getByTestId('chat-input').fill('still alive');
  await page.getByTestId('chat-input').press('Enter');
  await expect(page.locator('[data-testid="message"][data-role="assistant"]').last()).toContainText('still alive');

  await page.getByTestId('end-session').click();
  const notice = page.getByTestId('load-failed');
  await expect(notice).toBeVisible();
  await expect(notice).toContainText('could not be loaded');

  await page.unroute(blocked);
  await notice.getByTestId('load-retry').click();
  await expect(page.getByTestId('confirm-dialog')).toBeVisible();
  await expect(page.getByTestId('load-failed')).toHaveCount(0);
  // The loader reports the blocked fetch ("Failed to fetch"); the WASM never panicked.
  expect(errors.filter((e) => /panicked|unreachable|RuntimeError|hydration/i.test(e))).toEqual([]);
});

test('a page whose code does not load says so, and "Try again" loads it', async ({ page }) => {
  const blocked = '**/pkg/split_tool_page_split.*.wasm';
  await page.route(blocked, (route) => route.abort());
  const errors = await openApp(page);
  await page.getByTestId('doctor-link').click();
  const notice = page.getByTestId('load-failed');
  await expect(notice).toBeVisible({ timeout: 15_000 });
  // The sidebar still answers.
  await expect(page.getByTestId('new-session-button')).toBeEnabled();

  await page.unroute(blocked);
  await notice.getByTestId('load-retry').click();
  await expect(page).toHaveURL(`${url()}/doctor`);
  await expect(page.getByTestId('doctor')).toBeVisible();
  // The loader reports the blocked fetch ("Failed to fetch"); the WASM never panicked.
  expect(errors.filter((e) => /panicked|unreachable|RuntimeError|hydration/i.test(e))).toEqual([]);
});
