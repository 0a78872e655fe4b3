// "Ask several" and budgets (issue 21), end to end in real Chromium against the real server
// and demo agents: two attempts asked from a project's draft stream side by side, a
// follow-up goes to both, one is kept (its file merged into the base, the other's
// worktree and branch removed); at phone width one attempt shows at a time behind the
// switcher; a session budget warns at 80%, stops a /slow turn, refuses the next message,
// and "Allow one more turn" sends it.
import { test, expect, Page } from '@playwright/test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { assistantMessages, newSession, openApp, sessionTab } from './helpers';
import { addProject, git, makeRepo, projectItem } from './repo';

const columns = (page: Page) => page.getByTestId('attempt-column');

/** From the project's "+", asks two demo attempts `text`; returns the comparison's id. */
async function askTwo(page: Page, repoName: string, text: string): Promise<string> {
  await projectItem(page, repoName).getByTestId('project-new-session').click();
  await expect(page).toHaveURL(/\/s\/[0-9a-f-]{36}$/);
  await page.getByTestId('ask-several').click();
  await expect(page.getByTestId('attempt-config')).toHaveCount(2);
  await expect(page.locator('[data-testid="attempt-config"][data-index="1"]')).toBeVisible();
  await page.getByTestId('chat-input').fill(text);
  await page.getByTestId('chat-input').press('Enter');
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  const view = page.getByTestId('compare-view');
  await expect(columns(page)).toHaveCount(2);
  return (await view.getAttribute('data-compare-id'))!;
}

test('two attempts stream side by side, a follow-up reaches both, and one is kept', async ({ page }) => {
  const errors = await openApp(page);
  const repo = makeRepo();
  await addProject(page, repo);
  const compare = await askTwo(page, repo.name, '/slow 3');
  // In the sidebar the attempts sit under their comparison, which opens it.
  const entry = page.locator(`[data-testid="compare-item"][data-compare-id="${compare}"]`);
  await expect(entry).toContainText('2 attempts');
  await expect(entry.locator('a')).toHaveAttribute('aria-current', 'page');
  for (const id of await columns(page).evaluateAll((list) => list.map((c) => c.getAttribute('data-session-id')))) {
    await expect(page.locator(`.session-item.attempt-item[data-session-id="${id}"]`)).toHaveCount(1);
  }
  // Both stream at once, next to each other.
  for (const column of await columns(page).all()) {
    await expect(column.getByTestId('message').filter({ hasText: 'tick 2' })).toHaveCount(1);
  }
  const [left, right] = [(await columns(page).nth(0).boundingBox())!, (await columns(page).nth(1).boundingBox())!];
  expect(right.x).toBeGreaterThan(left.x + left.width - 2);
  expect(Math.abs(right.y - left.y)).toBeLessThan(2);
  for (const column of await columns(page).all()) {
    await expect(column.getByTestId('session-state-badge')).toHaveAttribute('data-state', 'idle', { timeout: 15_000 });
    await expect(column.getByTestId('attempt-spend')).toContainText('$');
  }

  // A follow-up to all: each attempt asks to write its file.
  await page.getByTestId('follow-up-input').fill('/write answer.txt kept answer');
  await page.getByTestId('follow-up-all').click();
  for (const column of await columns(page).all()) {
    await column.getByTestId('permission-allow').click();
    await expect(column.getByTestId('changes-button')).toHaveAttribute('data-count', '1', { timeout: 15_000 });
  }
  const loser = await columns(page).nth(1).getAttribute('data-session-id');
  const loserBranch = git(repo.path, 'branch', '--list', 'switchboard/*').split('\n').length;
  expect(loserBranch).toBe(2);

  // Keep the first; the other's worktree and branch go.
  await columns(page).nth(0).getByTestId('attempt-keep').click();
  await page.locator('[data-testid="keep-choice"][data-choice="remove-both"]').click();
  await expect(columns(page).nth(0).getByTestId('merge-result')).toHaveAttribute('data-outcome', 'merged', {
    timeout: 15_000,
  });
  await expect(columns(page)).toHaveCount(1);
  expect(existsSync(join(repo.path, 'answer.txt'))).toBe(true);
  expect(git(repo.path, 'branch', '--list', 'switchboard/*').split('\n').filter(Boolean)).toHaveLength(1);
  await expect(page.locator(`[data-testid="session-item"][data-session-id="${loser}"]`)).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('at phone width the attempts show one at a time behind the switcher', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  const errors = await openApp(page);
  const repo = makeRepo();
  await page.getByTestId('sidebar-toggle').click();
  await addProject(page, repo);
  await askTwo(page, repo.name, 'hello from the phone');
  const switches = page.getByTestId('attempt-switch');
  await expect(switches).toHaveCount(2);
  await expect(columns(page).nth(0)).toBeVisible();
  await expect(columns(page).nth(1)).toBeHidden();
  await expect(columns(page).nth(0).getByTestId('message').filter({ hasText: 'Echo: hello from the phone' })).toHaveCount(1);
  await switches.nth(1).click();
  await expect(columns(page).nth(1)).toBeVisible();
  await expect(columns(page).nth(0)).toBeHidden();
  await expect(columns(page).nth(1).getByTestId('message').filter({ hasText: 'Echo: hello from the phone' })).toHaveCount(1);
  expect(errors).toEqual([]);
});

test('a session budget warns, stops a turn, refuses the next message and allows one more', async ({ page }) => {
  const errors = await openApp(page);
  // $0.00001 a word (the demo's default price): "/slow" spends $0.0002 a second.
  const id = await newSession(page, 'hi');
  await expect(assistantMessages(page).last()).toContainText('Echo: hi');
  await page.getByTestId('session-spend').click();
  const input = page.locator('[data-testid="budget-input"][data-scope="session"]');
  await input.fill('0.0005');
  await input.press('Enter');
  await input.blur();
  await expect(page.locator('[data-testid="budget-input"][data-scope="day"]')).toBeVisible();
  await page.getByTestId('session-spend').click();

  await page.getByTestId('chat-input').fill('/slow 10');
  await page.getByTestId('chat-input').press('Enter');
  // 80%: a notice in the transcript, the tab marked.
  await expect(page.getByTestId('budget-notice')).toHaveCount(1, { timeout: 15_000 });
  // Used up: the turn is stopped, with the reason.
  const stopped = page.getByTestId('budget-stopped');
  await expect(stopped).toHaveCount(1, { timeout: 15_000 });
  await expect(stopped).toContainText('stopped');
  const mark = sessionTab(page, id).getByTestId('budget-warning');
  await expect(mark).toHaveAttribute('data-level', 'reached');
  await expect(sessionTab(page, id).getByTestId('session-state-badge')).toHaveAttribute('data-state', 'idle');
  await expect(page.getByTestId('session-spend')).toHaveAttribute('data-level', 'reached');

  // The next message is refused, and can go as one more turn.
  await page.getByTestId('chat-input').fill('one more');
  await page.getByTestId('chat-input').press('Enter');
  await expect(stopped).toHaveCount(2);
  await page.getByTestId('budget-allow').click();
  await expect(assistantMessages(page).last()).toContainText('Echo: one more');
  expect(errors).toEqual([]);
});
