// The Doctor page: every built-in agent has a row, the demo agent is found, a missing
// agent shows its install command, and the page hydrates (in-app links and "+" work) under
// the strict CSP. Which of the other agents are installed depends on the machine.
import { test, expect, Page } from '@playwright/test';
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOwnServer, stopOwnServer, url } from './helpers';

const BUILTINS = ['demo', 'claude', 'codex', 'gemini', 'claude-acp'];

const agentRow = (page: Page, key: string) =>
  page.locator(`[data-testid="doctor-agent"][data-agent="${key}"]`);

/** Collects uncaught errors and CSP reports of the page. */
function watch(page: Page) {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) {
      errors.push(message.text());
    }
  });
  return errors;
}

test('the Doctor lists every built-in agent and how to install the missing ones', async ({ page }) => {
  const errors = watch(page);
  await page.goto(`${url()}/doctor`);

  const demo = agentRow(page, 'demo');
  await expect(demo).toHaveAttribute('data-installed', 'true', { timeout: 20_000 });
  await expect(demo.getByTestId('doctor-status')).toHaveText('Found');
  await expect(demo.getByTestId('doctor-version')).toHaveText(/^\d+\.\d+\.\d+/);
  await expect(demo.getByTestId('doctor-path')).toContainText('switchboard');
  await expect(demo.getByTestId('doctor-install')).toHaveCount(0);
  await expect(page.getByTestId('doctor-loading')).toHaveCount(0);

  for (const key of BUILTINS) {
    const row = agentRow(page, key);
    await expect(row).toHaveCount(1);
    if ((await row.getAttribute('data-installed')) === 'true') {
      await expect(row.getByTestId('doctor-status')).toHaveText('Found');
      await expect(row.getByTestId('doctor-version')).not.toHaveText('—');
      await expect(row.getByTestId('doctor-install')).toHaveCount(0);
    } else {
      await expect(row.getByTestId('doctor-status')).toHaveText(/Not found|Not working/);
      await expect(row.getByTestId('doctor-install')).toHaveText(
        /^npm install --prefix \/\S+\/agents @[\w-]+\/[\w-]+@\d+\.\d+\.\d+$/,
      );
      await expect(row.getByTestId('doctor-problem')).not.toBeEmpty();
    }
  }
  const installed = await page.locator('[data-testid="doctor-agent"][data-installed="true"]').count();
  const total = await page.getByTestId('doctor-agent').count();
  expect(total).toBeGreaterThanOrEqual(BUILTINS.length);
  await expect(page.getByTestId('doctor-summary')).toHaveText(`${installed} of ${total} agents installed.`);
  // Agents live in a runner that outlives the server; the Doctor says which and how it is.
  const runner = page.getByTestId('doctor-runner');
  await expect(runner).toHaveAttribute('data-healthy', 'true');
  await expect(runner).toContainText(/Agents run in runner pid \d+ \(version \d+\.\d+\.\d+, protocol 1\)/);

  // Hydrated: the sidebar's "+" opens a draft from here.
  await expect(page.getByTestId('doctor-link')).toHaveAttribute('aria-current', 'page');
  await page.getByTestId('new-session-button').click();
  await expect(page).toHaveURL(/\/s\/[0-9a-f-]{36}$/);
  expect(errors).toEqual([]);
});

test('the sidebar links to the Doctor and back to the sessions', async ({ page }) => {
  const errors = watch(page);
  await page.goto(url());
  await expect(page.getByTestId('new-session-button')).toBeVisible();
  await page.getByTestId('doctor-link').click();
  await expect(page).toHaveURL(/\/doctor$/);
  await expect(agentRow(page, 'demo')).toHaveAttribute('data-installed', 'true', { timeout: 20_000 });
  for (const key of BUILTINS) {
    await expect(agentRow(page, key)).toHaveCount(1);
  }
  await page.getByTestId('new-session-button').click();
  await expect(page).toHaveURL(/\/s\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('chat-input')).toBeVisible();
  expect(errors).toEqual([]);
});

test('an agent installed as the Doctor says is found on Look again, and offered', async ({ page }) => {
  // A server of its own, on a PATH without the agent CLIs the suite installs.
  const dataDir = realpathSync(mkdtempSync(join(tmpdir(), 'switchboard-doctor-e2e-')));
  const { child, base } = await startOwnServer(dataDir, '127.0.0.1:0', { PATH: '/usr/bin:/bin' });
  try {
    await page.goto(`${base}/doctor`);
    const gemini = agentRow(page, 'gemini');
    await expect(gemini).toHaveAttribute('data-installed', 'false', { timeout: 20_000 });
    const line = (await gemini.getByTestId('doctor-install').textContent()) ?? '';
    const prefix = line.match(/^npm install --prefix (\S+) @google\/gemini-cli@/)?.[1];
    expect(prefix, line).toBe(join(dataDir, 'agents'));
    // What `npm install --prefix <prefix> ...` leaves: the CLI in node_modules/.bin.
    mkdirSync(join(prefix!, 'node_modules/.bin'), { recursive: true });
    writeFileSync(join(prefix!, 'node_modules/.bin/gemini'), '#!/bin/sh\necho 0.61.0\n', { mode: 0o755 });

    await page.getByTestId('doctor-rescan').click();
    await expect(gemini).toHaveAttribute('data-installed', 'true');
    await expect(gemini.getByTestId('doctor-version')).toHaveText('0.61.0');
    await expect(gemini.getByTestId('doctor-install')).toHaveCount(0);
    // The new session's agent picker offers it, without a reload.
    await page.getByTestId('new-session-button').click();
    await expect(page.getByTestId('agent-select').locator('option[value="gemini"]')).toHaveCount(1);
  } finally {
    stopOwnServer(child, dataDir);
  }
});
