// One session of every agent kind open in tabs at once, each the real pinned CLI against the
// repo's fake model APIs: they stream at the same time and no tab shows another's text.
import { test, expect, Page } from '@playwright/test';
import { assistantMessages, sessionTab, url } from './helpers';

const KINDS = ['claude', 'codex', 'gemini', 'claude-acp'];

async function openSession(page: Page, kind: string): Promise<string> {
  await page.getByTestId('new-session-button').click();
  await expect(page).toHaveURL(/\/s\/[0-9a-f-]{36}$/);
  const id = page.url().split('/s/')[1];
  await page.getByTestId('agent-select').selectOption(kind);
  await page.getByTestId('chat-input').fill(`hello from [${kind}]`);
  await page.getByTestId('chat-input').press('Enter');
  return id;
}

test('one session of each agent kind, streaming at the same time, no cross-talk', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto(url());
  await expect(page.getByTestId('new-session-button')).toBeVisible();
  const ids: Record<string, string> = {};
  for (const kind of KINDS) ids[kind] = await openSession(page, kind);

  // Every first turn answers in its own tab.
  for (const kind of KINDS) {
    await sessionTab(page, ids[kind]).click();
    await expect(assistantMessages(page).last()).toContainText(`Your last message was: hello from [${kind}]`, {
      timeout: 30_000,
    });
  }

  // Now a slow stream in each, started one after the other: they overlap.
  for (const kind of KINDS) {
    await sessionTab(page, ids[kind]).click();
    await page.getByTestId('chat-input').fill('SLOW 16 250');
    await page.getByTestId('chat-input').press('Enter');
  }
  const working = page.locator('[data-testid="session-tab"] [data-testid="session-state-badge"][data-state="working"]');
  await expect.poll(async () => working.count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(3);

  // All finish, and each transcript holds only its own session's words.
  for (const kind of KINDS) {
    await sessionTab(page, ids[kind]).click();
    await expect(sessionTab(page, ids[kind]).getByTestId('session-state-badge')).toHaveAttribute('data-state', 'idle', {
      timeout: 30_000,
    });
    const list = page.getByTestId('message-list');
    await expect(list).toContainText(`hello from [${kind}]`);
    for (const other of KINDS.filter((k) => k !== kind)) {
      await expect(list).not.toContainText(`hello from [${other}]`);
    }
  }
});
