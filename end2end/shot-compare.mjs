import { chromium } from '@playwright/test';
const base = 'http://127.0.0.1:3999';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
for (const [name, vp] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
  const page = await browser.newPage({ viewport: vp });
  await page.goto(base);
  await page.getByTestId('new-session-button').waitFor();
  if (name === 'phone') await page.getByTestId('sidebar-toggle').click();
  if (name === 'desktop') {
    await page.getByTestId('project-add-button').click();
    await page.getByTestId('project-path-input').fill('/tmp/shot-roots/demo-repo');
    await page.getByTestId('project-create').click();
    await page.waitForTimeout(500);
  }
  await page.getByTestId('project-item').filter({ hasText: 'demo-repo' }).getByTestId('project-new-session').click();
  await page.getByTestId('ask-several').click();
  await page.getByTestId('attempt-add').click();
  await page.getByTestId('chat-input').fill('/slow 2');
  await page.screenshot({ path: `/tmp/shot-${name}-draft.png` });
  await page.getByTestId('chat-input').press('Enter');
  await page.waitForTimeout(3500);
  await page.screenshot({ path: `/tmp/shot-${name}-compare.png` });
  // a session with a budget panel
  await page.getByTestId('attempt-column').first().locator('.attempt-title').click();
  await page.waitForTimeout(500);
  await page.getByTestId('session-spend').click();
  await page.waitForTimeout(800);
  await page.screenshot({ path: `/tmp/shot-${name}-budget.png` });
  await page.close();
}
await browser.close();
