// More turns at once than the cap on live agents (limits.max_live_agents, 8 by default):
// the one over the cap says it waits in line, then starts when a slot frees, and finishes.
import { test, expect } from '@playwright/test';
import { assistantMessages, newSession, openApp, sessionTab } from './helpers';

test('a turn over the live-agent cap waits in line, then runs', async ({ page }) => {
  test.setTimeout(120_000);
  const errors = await openApp(page);
  const ids: string[] = [];
  // Long enough that all eight still run when the ninth is sent (each new session makes
  // its worktree first).
  for (let i = 0; i < 8; i++) ids.push(await newSession(page, '/slow 30'));
  for (const id of ids) {
    await expect(sessionTab(page, id).getByTestId('session-state-badge')).toHaveAttribute('data-state', 'working');
  }
  const last = await newSession(page, '/slow 1');
  const badge = sessionTab(page, last).getByTestId('session-state-badge');
  await expect(badge).toHaveAttribute('data-state', 'waiting_for_agent');
  await expect(page.getByTestId('waiting-for-agent')).toContainText('Waiting for an agent slot');
  // A slot frees when one of the others is stopped (its idle agent is let go for the
  // waiting turn); the waiting turn then runs to its end.
  await sessionTab(page, ids[0]).click();
  await page.getByTestId('stop-button').click();
  await sessionTab(page, last).click();
  await expect(badge).toHaveAttribute('data-state', 'working', { timeout: 20_000 });
  await expect(page.getByTestId('waiting-for-agent')).toHaveCount(0);
  await expect(assistantMessages(page).last()).toContainText('tick', { timeout: 20_000 });
  await expect(badge).toHaveAttribute('data-state', 'idle', { timeout: 20_000 });
  // The others are stopped too, so no spec after this one finds the slots taken.
  for (const id of ids.slice(1)) {
    await sessionTab(page, id).click();
    await page.getByTestId('stop-button').click();
    await expect(sessionTab(page, id).getByTestId('session-state-badge')).toHaveAttribute('data-state', 'idle');
  }
  expect(errors).toEqual([]);
});
