// The walking skeleton, end to end: sessions in tabs with the demo agent, streaming,
// unread badges, Stop, permissions, reload, End session. Runs against the release build,
// so passing also proves that the release WASM hydrates.
import { test, expect } from '@playwright/test';
import { assistantMessages, newSession, openApp, sessionFolder, sessionItem, startSlowTurn, sessionTab } from './helpers';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

test('two sessions stream side by side, with unread badges on the background tab', async ({ page }) => {
  const errors = await openApp(page);
  const a = await newSession(page, 'hello alpha');
  await expect(assistantMessages(page).last()).toHaveText(/Echo: hello alpha/);

  // A slow turn in A keeps streaming while B is in front.
  await page.getByTestId('chat-input').fill('/slow 2');
  await page.getByTestId('chat-input').press('Enter');
  await expect(sessionTab(page, a).getByTestId('session-state-badge')).toHaveAttribute('data-state', 'working');
  const b = await newSession(page, 'hello beta');
  await expect(assistantMessages(page).last()).toHaveText(/Echo: hello beta/);

  // Each tab shows only its own session.
  await expect(page.getByTestId('message-list')).not.toContainText('hello alpha');
  await expect(sessionTab(page, a).getByTestId('unread-badge')).toBeVisible();
  await expect(sessionItem(page, a).getByTestId('unread-badge')).toBeVisible();
  await expect(sessionItem(page, a).getByTestId('session-state-badge')).toHaveAttribute('data-state', /working|idle/);
  await expect(sessionItem(page, a)).toContainText('Demo');

  // Viewing A clears its badge and shows only A's transcript.
  await sessionTab(page, a).click();
  await expect(page).toHaveURL(new RegExp(`/s/${a}$`));
  await expect(sessionTab(page, a).getByTestId('unread-badge')).toHaveCount(0);
  await expect(page.getByTestId('message-list')).toContainText('Echo: hello alpha');
  await expect(page.getByTestId('message-list')).not.toContainText('hello beta');
  await expect(sessionTab(page, a).getByTestId('session-state-badge')).toHaveAttribute('data-state', 'idle', {
    timeout: 15_000,
  });

  // A reload restores both sessions and their transcripts.
  await page.reload();
  await expect(sessionItem(page, a)).toBeVisible();
  await expect(sessionItem(page, b)).toBeVisible();
  await expect(page.getByTestId('message-list')).toContainText('Echo: hello alpha');
  await expect(page.getByTestId('message-list')).toContainText('tick 20');
  await sessionItem(page, b).click();
  await expect(page.getByTestId('message-list')).toContainText('Echo: hello beta');

  // Inline rename: the new title reaches the sidebar and the tab, and survives a reload.
  await page.getByTestId('rename-session').fill('Beta, renamed');
  await page.getByTestId('rename-session').press('Enter');
  await expect(sessionItem(page, b)).toContainText('Beta, renamed');
  await expect(sessionTab(page, b)).toContainText('Beta, renamed');
  await page.reload();
  await expect(sessionItem(page, b)).toContainText('Beta, renamed');
  expect(errors).toEqual([]);
});

test('Stop ends a slow turn and the session returns to idle', async ({ page }) => {
  await openApp(page);
  const badge = await startSlowTurn(page);
  await page.getByTestId('stop-button').click();
  await expect(badge).toHaveAttribute('data-state', 'idle', { timeout: 5_000 });
});

test('a permission request: Deny writes nothing, Allow writes the file', async ({ page }) => {
  await openApp(page);

  const denied = await newSession(page, '/permission');
  await expect(page.getByTestId('permission-card')).toBeVisible();
  // Written (or not) in the session's own folder: its project's, or its worktree.
  let target = join(await sessionFolder(page), 'demo.txt');
  rmSync(target, { force: true });
  await expect(sessionTab(page, denied).getByTestId('session-state-badge')).toHaveAttribute(
    'data-state',
    'awaiting_permission',
  );
  await page.getByTestId('permission-deny').click();
  await expect(assistantMessages(page).last()).toContainText('wrote nothing');
  expect(existsSync(target)).toBe(false);

  await newSession(page, '/permission');
  await expect(page.getByTestId('permission-card')).toBeVisible();
  target = join(await sessionFolder(page), 'demo.txt');
  rmSync(target, { force: true });
  await page.getByTestId('permission-allow').click();
  await expect(assistantMessages(page).last()).toContainText('I wrote demo.txt');
  expect(existsSync(target)).toBe(true);
});

test('End session asks first while working, then removes the session', async ({ page }) => {
  await openApp(page);
  const id = await newSession(page, '/slow 20');
  await expect(sessionTab(page, id).getByTestId('session-state-badge')).toHaveAttribute('data-state', 'working');
  await page.getByTestId('end-session').click();
  await expect(page.getByTestId('confirm-dialog')).toBeVisible();
  await page.getByTestId('confirm-yes').click();
  await expect(sessionItem(page, id)).toHaveCount(0);
  await expect(sessionTab(page, id)).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId('new-session-button')).toBeVisible();
  await expect(sessionItem(page, id)).toHaveCount(0);
});

test('user and agent text is shown as text, never as HTML', async ({ page }) => {
  await openApp(page);
  await newSession(page, '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>');
  await expect(assistantMessages(page).last()).toContainText('<script>window.__pwned=2</script>');
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  await expect(page.locator('[data-testid="message-list"] img')).toHaveCount(0);
});
