// Shared by the specs: the server's URL, locators by data-testid, and "+ then first message".
import { expect, Page } from '@playwright/test';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';

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

/** Collects, from now on, the page's errors and console errors (a hydration mismatch or a
 * WASM panic shows as one). */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text().slice(0, 500));
  });
  return errors;
}

/** Opens the app, waits until it is hydrated (the + button only works then), and returns
 * the list that collects page errors (a WASM panic aborts with one) and console errors
 * (hydration mismatches, panic messages). */
export async function openApp(page: Page): Promise<string[]> {
  const errors = watchErrors(page);
  await page.goto(url());
  await expect(page.getByTestId('new-session-button')).toBeVisible();
  return errors;
}

/** Starts a slow demo turn (`/slow 10`) in a new session and waits until it streams; returns
 * the session's state badge in its tab. */
export async function startSlowTurn(page: Page) {
  const id = await newSession(page, '/slow 10');
  const badge = sessionTab(page, id).getByTestId('session-state-badge');
  await expect(badge).toHaveAttribute('data-state', 'working');
  await expect(assistantMessages(page).last()).toContainText('tick 2');
  return badge;
}

/** The working folder of the session shown (its header's `.session-cwd`), once the server
 * has created it: a folder of its project, or its own worktree. */
export async function sessionFolder(page: Page): Promise<string> {
  const cwd = page.locator('.session-cwd');
  await expect(cwd).not.toHaveText('');
  return (await cwd.textContent())!.trim();
}

/** A server of a spec's own on `dataDir` (no login), for specs that must not share the
 * global one; resolves with the child and its base URL once it listens. */
export async function startOwnServer(
  dataDir: string,
  addr = '127.0.0.1:0',
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.env.SWITCHBOARD_BIN!, ['serve', '--addr', addr, '--data-dir', dataDir, '--no-auth'], {
    env: { ...process.env, RUST_LOG: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = out.match(/Switchboard listening on (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { child, base };
}

/** Stops a spec's own server and its runner (which outlives a server on purpose). */
export function stopOwnServer(child: ChildProcess | undefined, dataDir: string) {
  child?.kill('SIGTERM');
  spawnSync(process.env.SWITCHBOARD_BIN!, ['runner', 'stop', '--now', '--data-dir', dataDir], {
    stdio: 'ignore',
  });
}
