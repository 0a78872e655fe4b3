// Access and the Content-Security-Policy in a real browser: a context without the login
// cookie gets the login page, the token trades for a cookie and leaves the address bar, and
// the app hydrates and streams under the CSP without a single violation.
import { test, expect } from '@playwright/test';
import { assistantMessages, newSession, url } from './helpers';

const token = () => {
  const value = process.env.SWITCHBOARD_TEST_TOKEN;
  if (!value) throw new Error('global setup did not set the token');
  return value;
};

test.describe('without the login cookie', () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test('the login page asks for the token, refuses a wrong one, and the right one logs in', async ({ page }) => {
    const answer = await page.goto(url());
    expect(answer?.status()).toBe(401);
    await expect(page.getByTestId('login-form')).toBeVisible();
    await expect(page.getByTestId('new-session-button')).toHaveCount(0);

    await page.getByTestId('login-token').fill('not-the-token-at-all');
    await page.getByTestId('login-token').press('Enter');
    await expect(page.getByTestId('login-error')).toBeVisible();

    await page.getByTestId('login-token').fill(token());
    await page.getByTestId('login-token').press('Enter');
    await expect(page.getByTestId('new-session-button')).toBeVisible();
    expect(page.url()).not.toContain('token');
    const cookies = await page.context().cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0].httpOnly).toBe(true);
    expect(cookies[0].sameSite).toBe('Strict');
    expect(cookies[0].value).not.toContain(token());
  });

  test('the login URL printed at start logs in and the token leaves the address bar', async ({ page }) => {
    await page.goto(`${url()}/?token=${token()}`);
    await expect(page.getByTestId('new-session-button')).toBeVisible();
    expect(page.url()).toBe(`${url()}/`);
  });
});

test('the app hydrates and streams under the CSP with no violation', async ({ page }) => {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content.Security.Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  const answer = await page.goto(url());
  const policy = answer?.headers()['content-security-policy'] ?? '';
  expect(policy).toMatch(/script-src 'self' 'nonce-[0-9a-f]{32}' 'wasm-unsafe-eval'/);
  expect(policy).toContain("frame-ancestors 'none'");
  expect(policy).not.toContain('unsafe-inline');
  expect(answer?.headers()['x-content-type-options']).toBe('nosniff');
  await newSession(page, 'under the policy');
  await expect(assistantMessages(page).last()).toHaveText(/Echo: under the policy/);
  expect(violations).toEqual([]);
});

test('an abusive agent: a 10 MB line, bad UTF-8, deep JSON and markup; shown as notices and text, nothing runs', async ({ page }) => {
  await page.goto(url());
  await newSession(page, 'hello');
  await expect(assistantMessages(page).last()).toHaveText(/Echo: hello/);
  await page.getByTestId('chat-input').fill('/abuse');
  await page.getByTestId('chat-input').press('Enter');
  await expect(assistantMessages(page).last()).toContainText('<script>window.__pwned = 1</script>');
  await expect(assistantMessages(page).last()).toContainText('survived');
  const notices = page.locator('[data-testid="message-list"] [data-role="notice"]');
  await expect(notices.filter({ hasText: 'longer than' })).toHaveCount(1);
  await expect(notices.filter({ hasText: 'not UTF-8' })).toHaveCount(1);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  await expect(page.locator('[data-testid="message-list"] img')).toHaveCount(0);
  // The session goes on.
  await page.getByTestId('chat-input').fill('after the abuse');
  await page.getByTestId('chat-input').press('Enter');
  await expect(assistantMessages(page).last()).toHaveText(/Echo: after the abuse/);
});
