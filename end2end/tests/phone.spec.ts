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

test('the composer stays above a keyboard that does not resize the page (as on iOS Safari)', async ({ page }, testInfo) => {
  // iOS Safari leaves the page (and 100dvh) as tall as before when its keyboard opens; only
  // `visualViewport` shrinks. Chromium cannot open such a keyboard, so the page gets a
  // visualViewport whose size the test sets, and the app must follow it.
  await page.addInitScript(() => {
    // The page's own height until the test opens the keyboard.
    let keyboardTop: number | undefined;
    const fake = new EventTarget();
    Object.defineProperties(fake, {
      height: { get: () => keyboardTop ?? window.innerHeight },
      width: { get: () => window.innerWidth },
      scale: { value: 1 },
      offsetTop: { value: 0 },
      offsetLeft: { value: 0 },
    });
    Object.defineProperty(window, 'visualViewport', { get: () => fake });
    (window as unknown as { __keyboard: (h: number) => void }).__keyboard = (top: number) => {
      keyboardTop = top;
      fake.dispatchEvent(new Event('resize'));
    };
  });
  await page.goto(url());
  await page.getByTestId('sidebar-toggle').click();
  await newSession(page, 'typing on a phone');
  const composerBottom = async () => {
    const box = await page.getByTestId('chat-input').boundingBox();
    return box!.y + box!.height;
  };
  expect(await composerBottom()).toBeLessThanOrEqual(844);

  // The keyboard takes the lower 364 px: the composer moves up above it.
  await page.evaluate(() => (window as unknown as { __keyboard: (h: number) => void }).__keyboard(480));
  await expect.poll(composerBottom).toBeLessThanOrEqual(480);
  await expect(page.getByTestId('send-button')).toBeVisible();
  const sendBox = await page.getByTestId('send-button').boundingBox();
  expect(sendBox!.y + sendBox!.height).toBeLessThanOrEqual(480);
  await page.screenshot({ path: testInfo.outputPath('phone-keyboard.png') });

  // Closed again: the app takes the whole height back.
  await page.evaluate(() => (window as unknown as { __keyboard: (h: number) => void }).__keyboard(844));
  await expect.poll(composerBottom).toBeGreaterThan(700);
});
