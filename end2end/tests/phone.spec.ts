// Phone width (390x844): the sidebar is a drawer that opens and closes, tabs scroll
// sideways, and the composer stays on screen. Screenshots go to test-results/ for the eye
// (docs/phone-*.png are copies of them).
import { test, expect, Page } from '@playwright/test';
import { newSession, url } from './helpers';

test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });

/** Where the drawer is: `open` (all on screen), `closed` (all left of the viewport), or
 * `moving` (its 0.2 s slide). */
const sidebarShown = (page: Page) =>
  page.locator('.sidebar').evaluate((el) => {
    const { left, right } = el.getBoundingClientRect();
    return left >= -0.5 ? true : right <= 0.5 ? false : 'moving';
  });

test('the sidebar is a drawer on a phone, and the composer stays on screen', async ({ page }, testInfo) => {
  await page.goto(url());
  await expect(page.getByTestId('sidebar-toggle')).toBeVisible();
  expect(await sidebarShown(page)).toBe(false);

  // Open the drawer, start a session from it: the drawer closes on navigation.
  await page.getByTestId('sidebar-toggle').click();
  await expect.poll(() => sidebarShown(page)).toBe(true);
  await expect(page.getByTestId('sidebar-toggle')).toHaveAttribute('aria-expanded', 'true');
  await page.screenshot({ path: testInfo.outputPath('phone-drawer.png') });
  const first = await newSession(page, 'hello from a phone');
  await expect.poll(() => sidebarShown(page)).toBe(false);
  await expect(page.getByTestId('message-list')).toContainText('hello from a phone');

  // The composer is inside the viewport, and Send is reachable.
  const composer = await page.getByTestId('chat-input').boundingBox();
  expect(composer).not.toBeNull();
  expect(composer!.y + composer!.height).toBeLessThanOrEqual(844);
  await expect(page.getByTestId('send-button')).toBeInViewport();

  // A few more tabs: the tab bar scrolls sideways instead of wrapping or squeezing.
  for (const text of ['second', 'third', 'fourth']) {
    await page.getByTestId('sidebar-toggle').click();
    await newSession(page, text);
  }
  const bar = page.locator('.tab-bar');
  const overflow = await bar.evaluate((el) => el.scrollWidth > el.clientWidth);
  expect(overflow).toBe(true);
  await page.screenshot({ path: testInfo.outputPath('phone-chat.png') });

  // The scrim closes the drawer.
  await page.getByTestId('sidebar-toggle').click();
  await expect.poll(() => sidebarShown(page)).toBe(true);
  await page.getByTestId('sidebar-scrim').click({ position: { x: 370, y: 400 } });
  await expect.poll(() => sidebarShown(page)).toBe(false);
  await expect(page.locator(`[data-testid="session-tab"][data-session-id="${first}"]`)).toHaveCount(1);
});
