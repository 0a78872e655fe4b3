// API tokens in a real browser: Settings > API tokens makes a named token and shows it
// once (with a Copy button), node uses it with fetch to list the sessions through
// /api/v1, Revoke ends it (the list says so) and the same fetch then gets a 401 problem.
import { test, expect } from '@playwright/test';
import { url } from './helpers';

/** The server's address on loopback (node need not resolve `switchboard.localhost`). */
const loopback = () => `http://127.0.0.1:${new URL(url()).port}`;

const listSessions = (token: string) =>
  fetch(`${loopback()}/api/v1/sessions`, { headers: { Authorization: `Bearer ${token}` } });

test('a token made in Settings is shown once, works from a script, and is refused once revoked', async ({ page }) => {
  await page.goto(`${url()}/settings`);
  const section = page.getByTestId('api-tokens');
  await expect(section).toBeVisible();
  const name = `e2e ${Date.now()}`;
  await page.getByTestId('api-token-name').fill(name);
  await page.getByTestId('api-token-create').click();
  const secret = (await page.getByTestId('api-token-secret').textContent())!.trim();
  expect(secret).toMatch(/^sbk_[0-9a-f]{64}$/);
  await expect(page.getByTestId('api-token-copy')).toBeVisible();
  const row = page.getByTestId('api-token-row').filter({ hasText: name });
  await expect(row).toHaveAttribute('data-revoked', 'false');
  await expect(row).toContainText('never used');

  // A script uses it.
  const answer = await listSessions(secret);
  expect(answer.status).toBe(200);
  const body = await answer.json();
  expect(Array.isArray(body.sessions)).toBe(true);

  // Shown once: after a reload the list has the row, the page no longer has the secret.
  await page.reload();
  await expect(page.getByTestId('api-token-row').filter({ hasText: name })).toContainText('last used');
  await expect(page.getByTestId('api-token-secret')).toHaveCount(0);
  expect(await page.content()).not.toContain(secret);

  // Revoked: the list says so, the script is refused.
  await page.getByTestId('api-token-row').filter({ hasText: name }).getByTestId('api-token-revoke').click();
  await expect(page.getByTestId('api-token-row').filter({ hasText: name })).toHaveAttribute('data-revoked', 'true');
  const refused = await listSessions(secret);
  expect(refused.status).toBe(401);
  expect(refused.headers.get('content-type')).toContain('application/problem+json');
  expect((await refused.json()).code).toBe('unauthorized');
});
