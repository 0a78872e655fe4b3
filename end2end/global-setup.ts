// Starts `switchboard serve` on 127.0.0.1:0 with a fresh data dir and working directory,
// reads the port from its first line, and hands the URL to the tests through the
// environment. Returns the teardown that stops it.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export default async function globalSetup() {
  const bin = process.env.SWITCHBOARD_BIN;
  if (!bin) throw new Error('SWITCHBOARD_BIN must point at the built switchboard binary');
  const root = mkdtempSync(join(tmpdir(), 'switchboard-e2e-'));
  const workdir = join(root, 'work');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(workdir);
  const server = spawn(bin, ['serve', '--addr', '127.0.0.1:0', '--data-dir', join(root, 'data')], {
    cwd: resolve(__dirname, '..'),
    env: { ...process.env, SWITCHBOARD_DEFAULT_CWD: workdir, RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start in 20 s')), 20_000);
    let buffered = '';
    server.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = buffered.match(/Switchboard listening on (http:\/\/\S+)/);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    server.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  process.env.SWITCHBOARD_URL = url;
  process.env.SWITCHBOARD_E2E_WORKDIR = workdir;
  return async () => {
    server.kill('SIGTERM');
  };
}
