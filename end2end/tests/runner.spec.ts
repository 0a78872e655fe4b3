// A server restart in the middle of a streaming turn: the agent lives in the runner, so the
// page shows the connection banner, reconnects, and the turn arrives whole, every chunk
// exactly once. Its own server on a fixed port, so the page reconnects to the same address.
import { test, expect } from '@playwright/test';
import { ChildProcess } from 'node:child_process';
import { startOwnServer, stopOwnServer } from './helpers';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let server: ChildProcess | undefined;
let dataDir: string;

async function start(addr: string): Promise<string> {
  const started = await startOwnServer(dataDir, addr);
  server = started.child;
  return started.base;
}

// Each test has its own data dir, server and runner.
test.beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'switchboard-runner-e2e-'));
});

test.afterEach(() => stopOwnServer(server, dataDir));

test('a server restart mid-stream loses and repeats nothing', async ({ page }) => {
  const base = await start('127.0.0.1:0');
  const port = new URL(base).port;
  await page.goto(base);
  await page.getByTestId('new-session-button').click();
  await expect(page).toHaveURL(/\/s\/[0-9a-f-]{36}$/);
  await page.getByTestId('chat-input').fill('/slow 5');
  await page.getByTestId('chat-input').press('Enter');
  const reply = page.locator('[data-testid="message-list"] [data-testid="message"][data-role="assistant"]');
  await expect(reply.last()).toContainText('tick 3');

  server!.kill('SIGKILL');
  await expect(page.getByTestId('connection-banner')).toBeVisible();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await start(`127.0.0.1:${port}`);
  await expect(page.getByTestId('connection-banner')).toHaveCount(0, { timeout: 15_000 });

  const expected = Array.from({ length: 50 }, (_, i) => `tick ${i + 1}`).join(' ');
  await expect(reply.last()).toContainText('tick 50', { timeout: 15_000 });
  await expect(reply).toHaveCount(1);
  const text = (await reply.last().innerText()).replace(/\s+/g, ' ').trim();
  expect(text).toContain(expected);
  expect(text.match(/tick 1 /g)?.length).toBe(1);
  // The sidebar says where the agent ran: a pid, in the runner.
  await expect(page.getByTestId('session-placement')).toHaveCount(1);
});

test('a permission question asked before a restart is answered after it', async ({ page }) => {
  const base = await start('127.0.0.1:0');
  const port = new URL(base).port;
  await page.goto(base);
  await page.getByTestId('new-session-button').click();
  await expect(page).toHaveURL(/\/s\/[0-9a-f-]{36}$/);
  await page.getByTestId('chat-input').fill('/permission');
  await page.getByTestId('chat-input').press('Enter');
  await expect(page.getByTestId('permission-card')).toBeVisible();

  server!.kill('SIGKILL');
  await expect(page.getByTestId('connection-banner')).toBeVisible();
  await start(`127.0.0.1:${port}`);
  await expect(page.getByTestId('connection-banner')).toHaveCount(0, { timeout: 15_000 });
  // Still asked after the restart, and the answer reaches the agent that asked.
  await expect(page.getByTestId('permission-card')).toBeVisible();
  await page.getByTestId('permission-allow').click();
  const reply = page.locator('[data-testid="message-list"] [data-testid="message"][data-role="assistant"]');
  await expect(reply.last()).toContainText('I wrote demo.txt');
});
