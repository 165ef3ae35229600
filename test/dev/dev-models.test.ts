/**
 * `memloom dev --models FILE` validates the LiteLLM config.yaml at start, as `memloom worker`
 * does: a bad file fails the command with every problem named by its path, before anything starts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../bin/memloom.js', import.meta.url));
const BAD = fileURLToPath(new URL('../fixtures/models/bad.yaml', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'memloom-dev-models-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('memloom dev --models', () => {
  test('a bad file fails at start naming the file and the paths; nothing is started', async () => {
    const home = join(scratch, 'home');
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, 'dev', '--models', BAD, '--port', '1', '--ui-port', '2', '--pg-port', '3'],
        { env: { ...process.env, MEMLOOM_HOME: home, MEMLOOM_MODELS: undefined }, timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
      );
    });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /invalid models file .*bad\.yaml/);
    for (const path of ['model_list[1].litellm_params.api_base', 'model_list[2].litellm_params.model', 'router_settings.routing_strategy']) {
      assert.ok(run.stderr.includes(path), path);
    }
    assert.doesNotMatch(run.stderr + run.stdout, /starting|is running/);
    assert.equal(existsSync(home), false, 'MEMLOOM_HOME was not touched');
  });
});
