// Projects, worktrees and the Changes panel (issue 17), end to end: a real git repository
// in the server's default working folder (one of its roots) is added through the UI, a
// worktree session there lets the demo agent write a file (`/write`, allowed), the file
// shows in the Changes panel with its diff, is committed and merged into `main`, and the
// session ends removing its worktree and branch. Then the same at phone width, where the
// panel is a bottom sheet and removing an unmerged branch asks twice.
import { test, expect, Page } from '@playwright/test';
import { openApp, sessionItem } from './helpers';
import { addProject, git, makeRepo, projectItem } from './repo';

const changeFile = (page: Page, path: string) =>
  page.locator(`[data-testid="change-file"][data-path="${path}"]`);

/** Opens a draft in the project with its "+", checks it defaults to its own worktree,
 * sends `/write`, allows it, and returns the new session's id. */
async function writeInWorktree(page: Page, repoName: string, text: string): Promise<string> {
  await projectItem(page, repoName).getByTestId('project-new-session').click();
  await expect(page).toHaveURL(/\/s\/[0-9a-f-]{36}$/);
  const id = page.url().split('/s/')[1];
  const toggle = page.getByTestId('worktree-toggle');
  await expect(toggle).toBeEnabled();
  await expect(toggle).toBeChecked();
  await expect(page.getByTestId('draft-place')).toContainText(repoName);
  await page.getByTestId('chat-input').fill(`/write notes.txt ${text}`);
  await page.getByTestId('chat-input').press('Enter');
  // The session is listed under its project, and runs on its own branch.
  const group = page.locator('.project-group').filter({ has: projectItem(page, repoName) });
  await expect(group.locator(`[data-testid="session-item"][data-session-id="${id}"]`)).toHaveCount(1);
  await expect(page.getByTestId('session-branch')).toContainText('switchboard/');
  await page.getByTestId('permission-allow').click();
  await expect(page.getByTestId('changes-button')).toHaveAttribute('data-count', '1', { timeout: 15_000 });
  return id;
}

test('a project added in the UI gets a worktree session whose change is committed, merged and removed', async ({
  page,
}) => {
  const errors = await openApp(page);
  const repo = makeRepo();
  await addProject(page, repo);
  // A folder outside the roots is refused with a reason, in the form.
  await page.getByTestId('project-add-button').click();
  await page.getByTestId('project-path-input').fill('/proc');
  await page.getByTestId('project-create').click();
  await expect(page.getByTestId('project-error')).not.toBeEmpty();
  await page.getByTestId('project-add-button').click();

  const id = await writeInWorktree(page, repo.name, 'hello');
  const branch = (await page.getByTestId('session-branch').innerText()).trim();
  expect(git(repo.path, 'branch', '--list', branch)).toContain(branch);
  // The write happened in the worktree, not in the base checkout.
  expect(git(repo.path, 'status', '--porcelain')).toBe('');

  await page.getByTestId('changes-button').click();
  const panel = page.getByTestId('changes-panel');
  await expect(panel).toBeVisible();
  const file = changeFile(page, 'notes.txt');
  await expect(file).toHaveAttribute('data-status', 'untracked');
  await expect(file).toContainText('+1');
  await file.getByRole('button', { name: /notes\.txt/ }).click();
  const diff = file.getByTestId('change-diff');
  await expect(diff).toContainText('+hello');
  await expect(diff.locator('.diff-line.add')).toContainText('hello');
  // Side by side on a desktop: the panel does not cover the transcript.
  const box = (await panel.boundingBox())!;
  const list = (await page.getByTestId('message-list').boundingBox())!;
  expect(list.x + list.width).toBeLessThanOrEqual(box.x + 1);

  // Commit with the default message (the session's title), then merge into main.
  await expect(page.getByTestId('commit-message')).toHaveValue(/notes\.txt/);
  await page.getByTestId('commit-message').fill('Add notes');
  await page.getByTestId('commit-button').click();
  await expect(page.getByTestId('git-result')).toHaveAttribute('data-outcome', 'committed');
  await expect(page.getByTestId('commit-button')).toBeDisabled();
  expect(git(repo.path, 'log', '-1', '--format=%s', branch)).toBe('Add notes');
  await expect(page.getByTestId('merge-button')).toHaveText('Merge into main');
  await page.getByTestId('merge-button').click();
  const merged = page.getByTestId('merge-result');
  await expect(merged).toHaveAttribute('data-outcome', 'merged');
  await expect(merged).toContainText('main');
  expect(git(repo.path, 'show', 'main:notes.txt')).toBe('hello');

  // End it, removing the worktree and the (merged) branch: no second question.
  await page.getByTestId('end-session').click();
  await expect(page.getByTestId('confirm-dialog')).toBeVisible();
  await expect(page.getByTestId('end-worktree-choice')).toHaveCount(3);
  await page.locator('[data-testid="end-worktree-choice"][data-choice="remove-both"]').click();
  await expect(sessionItem(page, id)).toHaveCount(0);
  await expect.poll(() => git(repo.path, 'branch', '--list', 'switchboard/*')).toBe('');
  await expect.poll(() => git(repo.path, 'worktree', 'list').split('\n').length).toBe(1);
  expect(errors).toEqual([]);
});

test.describe('at phone width', () => {
  test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });

  test('the Changes panel is a bottom sheet, and removing an unmerged branch asks twice', async ({ page }) => {
    const errors = await openApp(page);
    const repo = makeRepo();
    await page.getByTestId('sidebar-toggle').click();
    await addProject(page, repo);
    const id = await writeInWorktree(page, repo.name, 'from a phone');

    await page.getByTestId('changes-button').click();
    const panel = page.getByTestId('changes-panel');
    await expect(panel).toBeVisible();
    // A sheet across the bottom of the screen, leaving the top of the page in sight.
    const box = (await panel.boundingBox())!;
    expect(Math.round(box.x)).toBe(0);
    expect(Math.round(box.width)).toBe(390);
    expect(Math.round(box.y + box.height)).toBe(844);
    expect(box.y).toBeGreaterThan(60);
    const file = changeFile(page, 'notes.txt');
    await expect(file).toHaveAttribute('data-status', 'untracked');
    await file.getByRole('button', { name: /notes\.txt/ }).click();
    await expect(file.getByTestId('change-diff')).toContainText('+from a phone');
    await expect(page.getByTestId('commit-button')).toBeInViewport();
    await page.getByTestId('commit-button').click();
    await expect(page.getByTestId('git-result')).toHaveAttribute('data-outcome', 'committed');
    await page.getByTestId('changes-close').click();
    await expect(panel).toHaveCount(0);
    const branch = (await page.getByTestId('session-branch').innerText()).trim();

    // The branch has a commit main lacks: "remove both" asks a second time.
    await page.getByTestId('end-session').click();
    await page.locator('[data-testid="end-worktree-choice"][data-choice="remove-both"]').click();
    await expect(page.getByTestId('end-unmerged')).toContainText('1 commit is not in main');
    await page.getByTestId('confirm-yes').click();
    await expect(page).not.toHaveURL(new RegExp(id));
    await expect.poll(() => git(repo.path, 'branch', '--list', branch)).toBe('');
    // main never got the commit.
    expect(git(repo.path, 'log', '--format=%s', 'main')).toBe('first');
    expect(errors).toEqual([]);
  });
});

// The menu, the rename field and the removal dialog load on a click (a split module of
// their own): each must still work, and the page log stays clean.
test("a project's menu renames it in place and removes it after asking", async ({ page }) => {
  const errors = await openApp(page);
  const repo = makeRepo();
  await addProject(page, repo);
  const item = projectItem(page, repo.name);
  await item.getByTestId('project-menu').click();
  await page.getByTestId('project-rename').click();
  const field = page.getByTestId('project-rename-input');
  await expect(field).toBeFocused();
  await field.fill('Renamed app');
  await field.press('Enter');
  const renamed = projectItem(page, 'Renamed app');
  await expect(renamed).toHaveCount(1);
  // Escape leaves the name as it was.
  await renamed.getByTestId('project-menu').click();
  await page.getByTestId('project-rename').click();
  await page.getByTestId('project-rename-input').fill('Not kept');
  await page.getByTestId('project-rename-input').press('Escape');
  await expect(projectItem(page, 'Renamed app')).toHaveCount(1);

  await renamed.getByTestId('project-menu').click();
  await page.getByTestId('project-remove').click();
  const dialog = page.getByTestId('confirm-dialog');
  await expect(dialog).toContainText('Remove “Renamed app”?');
  await dialog.getByTestId('confirm-yes').click();
  await expect(projectItem(page, 'Renamed app')).toHaveCount(0);
  expect(errors).toEqual([]);
});
