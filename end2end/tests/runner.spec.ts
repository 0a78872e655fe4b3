// A server restart in the middle of a streaming turn: the agent lives in the runner, so the
// page shows the connection banner, reconnects, and the turn arrives whole, every chunk
// exactly once. Its own server on a fixed port, so the page reconnects to the same address.
import { test, expect } from '@playwright/test';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let server: ChildProcess | undefined;
let dataDir: string;

function start(addr: string): Promise<string> {
  const bin = process.env.SWITCHBOARD_BIN!;
  const child = spawn(bin, ['serve', '--addr', addr, '--data-dir', dataDir, '--no-auth'], {
    env: { ...process.env, RUST_LOG: 'warn', SWITCHBOARD_DEMO_DELAY_MS: '20' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  server = child;
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = out.match(/Switchboard listening on (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

test.beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'switchboard-runner-e2e-'));
});

test.afterAll(() => {
  server?.kill('SIGTERM');
  // The runner exits on its own once the data dir's socket is gone or no server returns.
  spawn(process.env.SWITCHBOARD_BIN!, ['runner', 'stop', '--now', '--data-dir', dataDir], {
    stdio: 'ignore',
  });
});

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
