// Another machine in a real browser: the Machines page makes a one-time code and shows
// the command to run; a real `switchboard runner --server ... --enroll` (its own data dir
// standing in for another host) runs it and the page lists the machine as connected. A
// project added on that machine from the sidebar runs its session's agent there. The
// runner killed, the session shows "Unreachable"; the machine revoked, the page says so.
import { test, expect } from '@playwright/test';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sessionItem, startOwnServer, stopOwnServer, watchErrors } from './helpers';

let server: ChildProcess | undefined;
let runner: ChildProcess | undefined;
let serverDir = '';

test.afterEach(() => {
  runner?.kill('SIGKILL');
  stopOwnServer(server, serverDir);
});

test('a machine enrolled from the Machines page runs its project\'s session, and goes unreachable when it stops', async ({
  page,
}) => {
  serverDir = mkdtempSync(join(tmpdir(), 'switchboard-machines-e2e-'));
  const own = await startOwnServer(serverDir, '127.0.0.1:0', {
    SWITCHBOARD_RUNNER: 'detached',
    SWITCHBOARD_RUNNER_UNREACHABLE_SECS: '1',
  });
  server = own.child;
  const errors = watchErrors(page);
  await page.goto(`${own.base}/machines`);
  await expect(page.getByTestId('machines')).toBeVisible();
  await expect(page.getByText('No machines yet.')).toBeVisible();

  // The code, shown once as the command to run on the machine.
  await page.getByTestId('machine-name').fill('build box');
  await page.getByTestId('machine-enroll').click();
  const command = (await page.getByTestId('enrollment-command').textContent())!.trim();
  expect(command).toMatch(/^switchboard runner --server http:\/\/\S+ --enroll sbe_[0-9a-f]{32} --insecure-plain$/);
  await expect(page.getByTestId('enrollment-copy')).toBeVisible();
  const code = command.match(/sbe_[0-9a-f]{32}/)![0];

  // Run on "the machine": its own data dir.
  const machineDir = mkdtempSync(join(tmpdir(), 'switchboard-machine-'));
  const work = join(machineDir, 'work');
  mkdirSync(work);
  const args = ['runner', '--server', own.base.replace('switchboard.localhost', '127.0.0.1'), '--enroll', code];
  runner = spawn(process.env.SWITCHBOARD_BIN!, [...args, '--insecure-plain', '--data-dir', machineDir], {
    env: { ...process.env, RUST_LOG: 'warn' },
    stdio: 'ignore',
  });
  const row = page.getByTestId('machine-row').filter({ hasText: 'build box' });
  await expect(row).toHaveAttribute('data-state', 'connected', { timeout: 15_000 });
  await expect(row).toContainText('Switchboard');

  // A project on the machine, from the sidebar.
  await page.getByTestId('project-add-button').click();
  await page.getByTestId('project-machine').selectOption({ label: 'build box' });
  await page.getByTestId('project-path-input').fill(work);
  await page.getByTestId('project-name-input').fill('remote work');
  await page.getByTestId('project-create').click();
  const project = page.getByTestId('project-item').filter({ hasText: 'remote work' });
  await expect(project.getByTestId('project-machine-name')).toHaveText('on build box');
  await expect(row.getByTestId('machine-projects')).toContainText('remote work', { timeout: 10_000 });

  // Its session runs there.
  await project.getByTestId('project-new-session').click();
  await expect(page).toHaveURL(/\/s\/[0-9a-f-]{36}$/);
  const id = page.url().split('/s/')[1];
  await expect(page.getByTestId('draft-place')).toContainText('on build box');
  await page.getByTestId('chat-input').fill('hello from the browser');
  await page.getByTestId('chat-input').press('Enter');
  await expect(page.locator('[data-testid="message"][data-role="assistant"]').last()).toContainText(
    'Echo: hello from the browser',
  );

  // The runner stops (the machine went away): the session says it is unreachable.
  runner.kill('SIGKILL');
  await expect(sessionItem(page, id).getByTestId('session-state-badge')).toHaveAttribute('data-state', 'unreachable', {
    timeout: 15_000,
  });

  // Revoked from the Machines page.
  await page.getByTestId('machines-link').click();
  await row.getByTestId('machine-revoke').click();
  await expect(row).toHaveAttribute('data-state', 'revoked');
  expect(errors).toEqual([]);
});
