// Logins in a real browser: the settings view lists this server's logins with this browser
// marked, and Sign out ends this browser's login on the server (the cookie stops working,
// the login page is back). Sign out everywhere is covered by tests/logins.rs: here it would
// end the login the other specs share.
import { test, expect } from '@playwright/test';
import { url } from './helpers';

test.describe('a browser of its own', () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test('the settings list this login, and Sign out ends it', async ({ page }) => {
    const token = process.env.SWITCHBOARD_TEST_TOKEN!;
    await page.goto(`${url()}/?token=${token}`);
    await expect(page.getByTestId('new-session-button')).toBeVisible();
    await page.getByTestId('settings-link').click();
    await expect(page).toHaveURL(/\/settings$/);
    const list = page.getByTestId('login-list');
    await expect(list).toBeVisible();
    await expect(list.locator('[data-testid="login-item"][data-current="true"]')).toHaveCount(1);
    await expect(list.locator('[data-testid="login-item"][data-current="true"]')).toContainText('this browser');
    await expect(page.getByTestId('sign-out-everywhere')).toBeVisible();
    const cookie = (await page.context().cookies())[0];

    await page.getByTestId('sign-out').click();
    await expect(page.getByTestId('login-form')).toBeVisible();
    expect(await page.context().cookies()).toHaveLength(0);
    // The old cookie, sent again, is refused: the login ended on the server.
    await page.context().addCookies([cookie]);
    const answer = await page.goto(url());
    expect(answer?.status()).toBe(401);
    await expect(page.getByTestId('login-form')).toBeVisible();
  });
});
