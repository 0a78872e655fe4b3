// Shared by the specs: the server's URL, locators by data-testid, and "+ then first message".
import { expect, Page } from '@playwright/test';

export const url = () => {
  const value = process.env.SWITCHBOARD_URL;
  if (!value) throw new Error('global setup did not start the server');
  return value;
};

export const sessionItem = (page: Page, id: string) =>
  page.locator(`[data-testid="session-item"][data-session-id="${id}"]`);
export const sessionTab = (page: Page, id: string) =>
  page.locator(`[data-testid="session-tab"][data-session-id="${id}"]`);
/** The sync dot of a session's tab (`connected`, `reconnecting`, `disconnected`, `error`). */
export const syncDot = (page: Page, id: string) => sessionTab(page, id).getByTestId('sync-dot');
export const assistantMessages = (page: Page) =>
  page.locator('[data-testid="message-list"] [data-testid="message"][data-role="assistant"]');

/** Opens a draft with "+", sends its first message, and returns the new session's id. */
export async function newSession(page: Page, text: string): Promise<string> {
  await page.getByTestId('new-session-button').click();
  await expect(page).toHaveURL(/\/s\/[0-9a-f-]{36}$/);
  const id = page.url().split('/s/')[1];
  await page.getByTestId('chat-input').fill(text);
  await page.getByTestId('chat-input').press('Enter');
  await expect(sessionItem(page, id)).toBeVisible();
  return id;
}
