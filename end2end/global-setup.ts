// Starts this repo's `fake-model` (the Anthropic API for Claude Code sessions) and
// `switchboard serve` on 127.0.0.1:0 with a fresh data dir, working directory and HOME,
// reads their addresses from their first lines, and hands the URL to the tests through
// the environment. Returns the teardown that stops both.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Resolves with the first match of `pattern` in the child's stdout. */
function firstMatch(child: ChildProcess, pattern: RegExp, what: string): Promise<string> {
  return new Promise<string>((resolveMatch, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start in 20 s`)), 20_000);
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = buffered.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolveMatch(match[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
  });
}

export default async function globalSetup() {
  const bin = process.env.SWITCHBOARD_BIN;
  if (!bin) throw new Error('SWITCHBOARD_BIN must point at the built switchboard binary');
  const fakeModelBin = process.env.FAKE_MODEL_BIN;
  if (!fakeModelBin) throw new Error('FAKE_MODEL_BIN must point at the built fake-model binary');
  const root = mkdtempSync(join(tmpdir(), 'switchboard-e2e-'));
  const workdir = join(root, 'work');
  const home = join(root, 'home');
  mkdirSync(workdir);
  mkdirSync(home);
  const fakeModel = spawn(fakeModelBin, ['--addr', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const modelAddr = await firstMatch(fakeModel, /^(\S+:\d+)\s*$/m, 'fake-model');
  // Claude Code sessions inherit this environment: the fake API, a throwaway HOME, no
  // telemetry, and IS_SANDBOX so bypassPermissions works as root.
  const claudeEnv = {
    ANTHROPIC_BASE_URL: `http://${modelAddr}`,
    ANTHROPIC_API_KEY: 'test',
    HOME: home,
    IS_SANDBOX: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_BUG_COMMAND: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  };
  // Codex and Gemini CLI sessions: their own homes pointing at the same fake server
  // (OpenAI Responses and Gemini APIs), one attempt on API errors, no telemetry or updates.
  const codexHome = join(root, 'codex-home');
  mkdirSync(codexHome);
  writeFileSync(
    join(codexHome, 'config.toml'),
    `model = "gpt-5.5"\nmodel_provider = "fake"\ncheck_for_update_on_startup = false\n\n` +
      `[model_providers.fake]\nname = "Fake local"\nbase_url = "http://${modelAddr}/v1"\n` +
      `env_key = "FAKE_OPENAI_KEY"\nwire_api = "responses"\nrequest_max_retries = 0\n` +
      `stream_max_retries = 0\n\n[analytics]\nenabled = false\n`,
  );
  const geminiHome = join(root, 'gemini-home');
  mkdirSync(join(geminiHome, '.gemini'), { recursive: true });
  writeFileSync(
    join(geminiHome, '.gemini', 'settings.json'),
    JSON.stringify({
      security: { auth: { selectedType: 'gemini-api-key' } },
      privacy: { usageStatisticsEnabled: false },
      telemetry: { enabled: false },
      general: {
        disableAutoUpdate: true,
        disableUpdateNag: true,
        enableAutoUpdate: false,
        enableAutoUpdateNotification: false,
        sessionRetention: { enabled: false },
        maxAttempts: 1,
      },
    }),
  );
  const otherAgentsEnv = {
    CODEX_HOME: codexHome,
    FAKE_OPENAI_KEY: 'test',
    GEMINI_API_KEY: 'test',
    GOOGLE_GEMINI_BASE_URL: `http://${modelAddr}`,
    GEMINI_CLI_TRUST_WORKSPACE: 'true',
    GEMINI_CLI_NO_RELAUNCH: 'true',
    GEMINI_CLI_HOME: geminiHome,
    ...(process.env.SWITCHBOARD_CLAUDE_BIN
      ? { CLAUDE_CODE_EXECUTABLE: process.env.SWITCHBOARD_CLAUDE_BIN }
      : {}),
  };
  copyImportFixtures(home, codexHome);
  const token = randomBytes(24).toString('hex');
  const server = spawn(bin, ['serve', '--addr', '127.0.0.1:0', '--data-dir', join(root, 'data')], {
    cwd: resolve(__dirname, '..'),
    env: {
      ...process.env,
      ...claudeEnv,
      ...otherAgentsEnv,
      SWITCHBOARD_DEFAULT_CWD: workdir,
      SWITCHBOARD_TOKEN: token,
      RUST_LOG: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await firstMatch(server, /Switchboard listening on (http:\/\/\S+)/, 'the server');
  process.env.SWITCHBOARD_URL = url;
  process.env.SWITCHBOARD_TEST_TOKEN = token;
  await saveLogin(url, token);
  // Sessions that name no project run in the Playground, the data dir's own repository.
  process.env.SWITCHBOARD_E2E_WORKDIR = join(root, 'data', 'playground');
  // A folder under the server's roots (SWITCHBOARD_DEFAULT_CWD is one) for projects.
  process.env.SWITCHBOARD_E2E_ROOT = workdir;
  return async () => {
    server.kill('SIGTERM');
    fakeModel.kill('SIGTERM');
    // The server's agents live in its runner, which outlives it on purpose: stop it too.
    spawnSync(bin, ['runner', 'stop', '--now', '--data-dir', join(root, 'data')], { stdio: 'ignore' });
  };
}

/** Puts the transcripts the real CLIs wrote (tests/fixtures/import, made by
 * scripts/import-fixtures.sh) where the server's import scan looks
 * (`<HOME>/.claude/projects/...`, `<CODEX_HOME>/sessions/...`), for search-import.spec.ts. */
function copyImportFixtures(home: string, codexHome: string) {
  const source = join(resolve(__dirname, '..'), 'tests', 'fixtures', 'import');
  const claude = join(source, 'claude', 'projects');
  const codex = join(source, 'codex', 'sessions');
  if (existsSync(claude)) cpSync(claude, join(home, '.claude', 'projects'), { recursive: true });
  if (existsSync(codex)) cpSync(codex, join(codexHome, 'sessions'), { recursive: true });
}

/** Logs in the way a browser does (the login URL answers with the cookie) and stores the
 * cookie as the storage state every test context starts from (playwright.config.ts). */
async function saveLogin(url: string, token: string) {
  const answer = await fetch(`${url}/?token=${token}`, { redirect: 'manual' });
  const setCookie = answer.headers.get('set-cookie');
  if (answer.status !== 303 || !setCookie) {
    throw new Error(`login answered ${answer.status} without a cookie`);
  }
  const [name, value] = setCookie.split(';')[0].split('=');
  const { hostname } = new URL(url);
  const state = {
    cookies: [
      {
        name,
        value,
        domain: hostname,
        path: '/',
        expires: -1,
        httpOnly: true,
        secure: false,
        sameSite: 'Strict',
      },
    ],
    origins: [],
  };
  mkdirSync(resolve(__dirname, '.auth'), { recursive: true });
  writeFileSync(resolve(__dirname, '.auth/state.json'), JSON.stringify(state));
}
