// Two server nodes on one PostgreSQL database (the test command's throwaway cluster), one
// browser page on each: a session made on one appears live on the other, and a message
// sent from either runs, seen streaming on both.
import { test, expect, Page } from '@playwright/test';
import { ChildProcess, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sessionItem, startOwnServer, stopOwnServer, watchErrors } from './helpers';

const admin = process.env.SWITCHBOARD_TEST_POSTGRES;
const nodes: { child: ChildProcess; dataDir: string }[] = [];

/** A fresh database on the test cluster, named for this run. */
function createDatabase(): string {
  const name = `e2e_cluster_${randomUUID().replace(/-/g, '')}`;
  const made = spawnSync('psql', [admin!, '-v', 'ON_ERROR_STOP=1', '-c', `CREATE DATABASE ${name}`], {
    encoding: 'utf8',
  });
  if (made.status !== 0) throw new Error(`cannot create ${name}: ${made.stderr}`);
  const url = new URL(admin!);
  url.pathname = `/${name}`;
  return url.toString();
}

async function startNode(database: string): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-cluster-e2e-'));
  const { child, base } = await startOwnServer(dataDir, '127.0.0.1:0', {
    SWITCHBOARD_DATABASE_URL: database,
  });
  nodes.push({ child, dataDir });
  return base;
}

const messages = (page: Page, role: 'user' | 'assistant') =>
  page.locator(`[data-testid="message-list"] [data-testid="message"][data-role="${role}"]`);

async function send(page: Page, text: string) {
  await page.getByTestId('chat-input').fill(text);
  await page.getByTestId('chat-input').press('Enter');
}

test.afterEach(() => {
  for (const node of nodes.splice(0)) stopOwnServer(node.child, node.dataDir);
});

test('a session made on one node is live on the other, and both can send', async ({ browser }) => {
  test.skip(!admin, 'needs the test command\'s PostgreSQL cluster (SWITCHBOARD_TEST_POSTGRES)');
  const database = createDatabase();
  const [baseA, baseB] = [await startNode(database), await startNode(database)];
  const pageA = await (await browser.newContext()).newPage();
  const pageB = await (await browser.newContext()).newPage();
  const errors = [...watchErrors(pageA), ...watchErrors(pageB)];
  await pageA.goto(baseA);
  await pageB.goto(baseB);
  await expect(pageA.getByTestId('new-session-button')).toBeVisible();
  await expect(pageB.getByTestId('new-session-button')).toBeVisible();

  // Made on A: B's sidebar lists it without a reload.
  await pageA.getByTestId('new-session-button').click();
  await expect(pageA).toHaveURL(/\/s\/[0-9a-f-]{36}$/);
  const id = pageA.url().split('/s/')[1];
  await send(pageA, '/slow 3');
  await expect(sessionItem(pageB, id)).toBeVisible();
  await sessionItem(pageB, id).click();
  // B watches A's turn stream live.
  await expect(messages(pageB, 'assistant').last()).toContainText('tick 2');
  await expect(messages(pageB, 'assistant').last()).toContainText('tick 3');
  await expect(messages(pageA, 'assistant').last()).toContainText('tick 3');

  // Sent from B (forwarded to A, which drives the session): both see it run.
  await send(pageB, 'hello from node B');
  for (const page of [pageA, pageB]) {
    await expect(messages(page, 'user').last()).toContainText('hello from node B');
    await expect(messages(page, 'assistant').last()).toContainText('hello from node B');
  }
  // And from A again.
  await send(pageA, 'hello from node A');
  for (const page of [pageA, pageB]) {
    await expect(messages(page, 'assistant').last()).toContainText('hello from node A');
    await expect(messages(page, 'user')).toHaveCount(3);
  }
  expect(errors).toEqual([]);
});
