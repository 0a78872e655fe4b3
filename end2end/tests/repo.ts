// Real git repositories for the specs: one made under the server's default working folder
// (one of its roots), and added as a project through the UI.
import { expect, Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** git in `dir`, by argv; its output trimmed. */
export const git = (dir: string, ...args: string[]) =>
  execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();

/** A fresh repository on `main` with one commit, under the server's default working
 * folder (global-setup.ts; it is one of the server's roots), and the project name to use. */
export function makeRepo(): { path: string; name: string } {
  const workdir = process.env.SWITCHBOARD_E2E_ROOT;
  if (!workdir) throw new Error('global setup did not say where the work folder is');
  const name = `e2e-${randomBytes(4).toString('hex')}`;
  const path = join(workdir, name);
  mkdirSync(path);
  execFileSync('git', ['init', '-q', '-b', 'main', path]);
  // The server commits in the session's worktree, which shares this configuration.
  git(path, 'config', 'user.name', 'Switchboard E2E');
  git(path, 'config', 'user.email', 'e2e@example.invalid');
  writeFileSync(join(path, 'README.md'), '# test repo\n');
  git(path, 'add', 'README.md');
  git(path, 'commit', '-q', '-m', 'first');
  return { path, name };
}

export const projectItem = (page: Page, name: string) =>
  page.getByTestId('project-item').filter({ hasText: name });
/** Adds `path` as a project through the form, using the folder completion for its last
 * part, and waits for its header in the sidebar. */
export async function addProject(page: Page, repo: { path: string; name: string }) {
  await page.getByTestId('project-add-button').click();
  const input = page.getByTestId('project-path-input');
  // Type all but the folder's last characters: the server's folder list completes it.
  await input.fill(repo.path.slice(0, -3));
  const option = page.getByTestId('project-folder-option').filter({ hasText: repo.path });
  await expect(option).toHaveCount(1);
  await option.click();
  await expect(input).toHaveValue(`${repo.path}/`);
  // The name field offers the folder's name when left empty.
  await expect(page.getByTestId('project-name-input')).toHaveAttribute('placeholder', repo.name);
  await page.getByTestId('project-create').click();
  await expect(projectItem(page, repo.name)).toHaveCount(1);
  await expect(page.getByTestId('project-form')).toHaveCount(0);
}

