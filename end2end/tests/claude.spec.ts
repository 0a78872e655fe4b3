// A Claude Code session through the UI: the real pinned `claude` CLI behind the server,
// this repo's fake-model as its API (global-setup.ts). Picks the agent and mode, answers a
// permission card with Allow (the file appears on disk), and shows usage after the turn.
import { test, expect } from '@playwright/test';
import { assistantMessages, sessionItem, url } from './helpers';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

test('a Claude session asks before writing, writes on Allow, and shows usage', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url());
  await expect(page.getByTestId('new-session-button')).toBeVisible();

  await page.getByTestId('new-session-button').click();
  await expect(page).toHaveURL(/\/s\/[0-9a-f-]{36}$/);
  const id = page.url().split('/s/')[1];
  await page.getByTestId('agent-select').selectOption('claude');
  await expect(page.getByTestId('model-input')).toBeVisible();
  await page.getByTestId('permission-mode-select').selectOption('default');

  const target = join(process.env.SWITCHBOARD_E2E_WORKDIR!, 'from-claude.txt');
  await page.getByTestId('chat-input').fill(`TOOL_WRITE:${target}`);
  await page.getByTestId('chat-input').press('Enter');
  await expect(sessionItem(page, id)).toContainText('Claude');

  const card = page.getByTestId('permission-card');
  await expect(card).toBeVisible({ timeout: 30_000 });
  await expect(card).toContainText('from-claude.txt');
  await expect(sessionItem(page, id).getByTestId('session-state-badge')).toHaveAttribute('data-state', 'awaiting_permission');
  expect(existsSync(target)).toBe(false);

  await card.getByTestId('permission-allow').click();
  await expect(assistantMessages(page).last()).toHaveText(/Tool result received: File created/, { timeout: 30_000 });
  expect(existsSync(target)).toBe(true);
  await expect(page.getByTestId('tool-call').last()).toContainText('from-claude.txt');

  // Usage of the finished turn: tokens and cost.
  const usage = page.getByTestId('session-usage');
  await expect(usage).toContainText(/in/);
  await expect(usage).toContainText(/\$\d/);
  expect(errors).toEqual([]);
});
