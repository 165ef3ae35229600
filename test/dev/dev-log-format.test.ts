/**
 * Dev logs: readable lines in a terminal, JSON lines for machines, never a task token.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { formatLogLine } from '../../src/config/logger.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/** Logs one entry with a task token through createLogger in a fresh process; returns its stderr. */
async function logged(format: 'pretty' | 'json'): Promise<string> {
  const script = `
    const { createLogger } = await import(${JSON.stringify(join(root, 'src/config/logger.ts'))});
    createLogger('info', 'memloom-dev', { format: ${JSON.stringify(format)} })
      .warn({ taskToken: 'CiQ3ZDk0secret', workflowId: 'agent/agent-1', attempt: 2 }, 'activity failed');`;
  const { stderr } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root });
  return stderr;
}

describe('dev log format', () => {
  test('pretty: one readable line with the level, the logger, the message and its fields; no task token', async () => {
    const line = await logged('pretty');
    assert.match(line, /^\d\d:\d\d:\d\d\.\d{3} {2}WARN {3}memloom-dev {2}activity failed {2}workflowId=agent\/agent-1 {2}attempt=2\n$/);
    assert.doesNotMatch(line, /CiQ3ZDk0secret|taskToken|\{/);
  });

  test('json: one JSON object per line, without the task token', async () => {
    const entry = JSON.parse(await logged('json')) as Record<string, unknown>;
    assert.equal(entry.msg, 'activity failed');
    assert.equal(entry.workflowId, 'agent/agent-1');
    assert.equal('taskToken' in entry, false);
  });

  test('an error shows its type and message, and its stack below', () => {
    const line = formatLogLine(JSON.stringify({ level: 50, time: 0, name: 'memloom-worker', msg: 'turn failed', err: { type: 'AgentNotFound', message: 'no agent x', stack: 'AgentNotFound: no agent x\n    at here' } }));
    assert.equal(line, '00:00:00.000  ERROR  memloom-worker  turn failed  err="AgentNotFound: no agent x"\n    at here\n');
  });

  test('memloom dev --log-format refuses an unknown format, naming the flag', async () => {
    await assert.rejects(run(process.execPath, [join(root, 'bin/memloom.js'), 'dev', '--log-format', 'xml'], { cwd: root }), (error: { stderr: string }) => {
      assert.match(error.stderr, /--log-format.*must be one of pretty, json/);
      return true;
    });
  });
});
