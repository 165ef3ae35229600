/**
 * The `memloom` command with bad input: the flag or argument is named, the exit code is 1 and
 * nothing is written; `send` takes long messages from stdin (`-`) or `--file`, within the
 * agent's context window. Most commands run in this process (the same program, stdin given as a
 * stream); a sample, the pipes among them, runs as a real subprocess (`bin/memloom.js`).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { AgentState } from '../../src/domain/agent.ts';
import type { LettaMessage, LettaResponse } from '../../src/domain/letta-message.ts';
import { startTestStack } from '../helpers/stack.ts';
import { runCli, runCliInProcess, parsed, type CliRun } from '../helpers/cli.ts';

const stack = await startTestStack();
const { db } = stack;

const ENV = { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue };
const dir = await mkdtemp(join(tmpdir(), 'memloom-cli-validation-'));
after(() => rm(dir, { recursive: true, force: true }));

type Run = CliRun;

/** Runs `memloom ...args` in this process, with `stdin` as its standard input (empty when not given). */
function memloom(args: string[], stdin = ''): Promise<Run> {
  return runCliInProcess(ENV, args, stdin);
}

/** Runs `memloom ...args` as a subprocess, `stdin` written to its standard input and closed. */
function memloomProcess(args: string[], stdin = ''): Promise<Run> {
  return runCli(ENV, args, stdin);
}

/** Row counts of everything a command could write, with block versions for edits in place. */
async function snapshot(): Promise<Record<string, unknown>> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT (SELECT count(*)::int FROM agents) AS agents,
            (SELECT count(*)::int FROM blocks) AS blocks,
            (SELECT coalesce(sum(version), 0)::int FROM blocks) AS block_versions,
            (SELECT count(*)::int FROM messages) AS messages,
            (SELECT count(*)::int FROM passages) AS passages,
            (SELECT count(*)::int FROM turns) AS turns,
            (SELECT count(*)::int FROM settings) AS settings`,
  );
  return rows[0]!;
}

const model = ['--model', stack.llmConfig.model, '--model-endpoint', stack.llmConfig.model_endpoint];

describe('memloom CLI: bad input names the flag, exits 1, writes nothing', () => {
  test('agent create before any default model names `memloom defaults llm`, not the SDK', async () => {
    const run = await memloomProcess(['agent', 'create', '--name', 'no-model']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--model: is required: no default model is set.*`memloom defaults llm --model NAME/);
    assert.doesNotMatch(run.stderr, /setDefaultLlmConfig/);
  });

  test('a table of bad flags and arguments', async () => {
    parsed<AgentState>(await memloom(['agent', 'create', '--name', 'cli-v', '--block', 'human=', '--block-limit', 'human=100', ...model, '--json']));
    const nul = join(dir, 'nul.txt');
    await writeFile(nul, 'hello\u0000world');
    const before = await snapshot();
    const cases: [string[], RegExp][] = [
      [['agent', 'list', '--limit', '-1'], /--limit: must be at least 1/],
      [['agent', 'list', '--limit', '0'], /--limit: must be at least 1/],
      [['agent', 'list', '--limit', 'abc'], /--limit: must be an integer, got "abc"/],
      [['agent', 'list', '--limit', '5000'], /--limit: must be at most 1000/],
      [['agent', 'list', '--tag', ''], /--tag: must not be empty/],
      [['agent', 'show', ''], /<agent>: must not be empty/],
      [['agent', 'delete', 'x'.repeat(201)], /<agent>: must be at most 200 characters/],
      [['agent', 'update', 'cli-v', '--tag', ''], /--tag: must not be empty/],
      [['agent', 'create', '--name', 'cli-big', '--block', 'human=', '--block-limit', 'human=100000', ...model], /--block-limit human: is 100000 characters; agent cli-big's context window is 8192 tokens, so a block limit may be at most 16384/],
      [['agent', 'create', '--name', 'cli-neg', '--block', 'human=', '--block-limit', 'human=-1', ...model], /--block-limit human: must be positive/],
      [['agent', 'create', '--name', 'x'.repeat(101), ...model], /--name: must be at most 100 characters/],
      [['agent', 'create', '--name', 'cli-budget', ...model, '--max-budget', '1x'], /--max-budget: must be a number, got "1x"/],
      [['agent', 'update', 'cli-v', '--max-budget', '0'], /--max-budget: must be more than 0/],
      [['agent', 'update', 'cli-v', '--budget-duration', '1d'], /--budget-duration: needs a max_budget: agent cli-v has no budget/],
      [['memory', 'set', 'cli-v', 'human', 'x', '--limit', '-1'], /--limit: must be positive/],
      [['memory', 'set', 'cli-v', 'human', 'x', '--limit', '100000'], /--limit: is 100000 characters; agent cli-v's context window is 8192 tokens/],
      [['memory', 'set', 'cli-v', 'bad label!', 'x'], /<label>: must be 1-64 letters/],
      [['memory', 'set', 'cli-v', 'human', '😀'.repeat(101)], /value: is 101 characters, over the block's limit of 100/],
      [['archival', 'insert', 'cli-v', ' '], /text: must not be empty/],
      [['archival', 'insert', 'cli-v', 'note', '--tag', ''], /--tag: must not be empty/],
      [['archival', 'search', 'cli-v', 'x', '--top-k', '-1'], /--top-k: must be at least 1/],
      [['archival', 'search', 'cli-v', 'x', '--top-k', 'NaN'], /--top-k: must be an integer, got "NaN"/],
      [['send', 'cli-v', '--file', nul], /text: must not contain NUL characters \(\\u0000, first at character 6\)/],
      [['send', 'cli-v', 'hi', '--file', nul], /--file: give the message either as <message>.*not both/],
      [['send', 'cli-v', '--file', join(dir, 'missing.txt')], /--file: cannot read ".*missing\.txt" \(ENOENT\)/],
      [['send', 'cli-v', '--max-steps', '-1', 'hi'], /--max-steps: must be at least 1/],
      [['send', '', 'hi'], /<agent>: must not be empty/],
      [['send', 'cli-v', '-'], /text: must not be empty/],
    ];
    const runs = await Promise.all(cases.map(([args]) => memloom(args)));
    runs.forEach((run, i) => {
      const [args, expected] = cases[i]!;
      const name = `memloom ${args.join(' ').slice(0, 120)}`;
      assert.equal(run.code, 1, `${name}: exit ${run.code}; stdout ${run.stdout}; stderr ${run.stderr}`);
      assert.equal(run.stdout, '', name);
      assert.match(run.stderr.replace(/\n {2}- /g, ' '), expected, `${name}: ${run.stderr}`);
    });
    assert.deepEqual(await snapshot(), before, 'nothing was written');
  });

  test('agent list prints the newest first, as its --help says', async () => {
    for (const name of ['order-1', 'order-2', 'order-3']) {
      parsed<AgentState>(await memloom(['agent', 'create', '--name', name, '--tag', 'order', ...model, '--json']));
    }
    const [list, limited, help] = await Promise.all([
      memloom(['agent', 'list', '--tag', 'order', '--json']),
      memloom(['agent', 'list', '--tag', 'order', '--limit', '2', '--json']),
      memloom(['agent', 'list', '--help']),
    ]);
    assert.deepEqual(parsed<AgentState[]>(list).map((a) => a.name), ['order-3', 'order-2', 'order-1']);
    assert.deepEqual(parsed<AgentState[]>(limited).map((a) => a.name), ['order-3', 'order-2']);
    assert.match(help.stdout.replace(/\s+/g, ' '), /List agents, newest first/);
  });
});

describe('memloom send: the message from stdin (-) or --file', () => {
  test('a 300 KB message fails with the size cap naming the context window; nothing is written', async () => {
    parsed<AgentState>(await memloom(['agent', 'create', '--name', 'cli-send', ...model, '--json']));
    const big = 'All work and no play. '.repeat(14_000).slice(0, 300_000);
    const file = join(dir, 'big.txt');
    await writeFile(file, big);
    const before = await snapshot();
    const [fromFile, fromStdin] = await Promise.all([
      memloom(['send', 'cli-send', '--file', file, '--json']),
      memloomProcess(['send', 'cli-send', '-', '--json'], big),
    ]);
    for (const run of [fromFile, fromStdin]) {
      assert.equal(run.code, 1, run.stderr);
      const { error } = JSON.parse(run.stderr) as { error: { code: string; issues: { path: string; message: string }[] } };
      assert.equal(error.code, 'validation_error');
      assert.deepEqual(error.issues, [
        {
          path: 'text',
          message:
            "message is about 81823 tokens; agent cli-send's context window is 8192 tokens, so a message may have at most 4096 " +
            '(half the window, ~16384 characters)',
        },
      ]);
    }
    assert.deepEqual(await snapshot(), before, 'nothing was written');
  });

  test('a message longer than a command line allows, from a file, and one from stdin, are sent whole', async () => {
    // 150 KB: over Linux's 128 KB limit of one argument, within half of a 128k-token window
    parsed<AgentState>(await memloom(['agent', 'create', '--name', 'cli-wide', ...model, '--context-window', '128000', '--json']));
    const long = Array.from({ length: 2800 }, (_, i) => `Line ${i}: the quick brown fox jumps over the lazy dog.`).join('\n');
    assert.ok(long.length > 150_000 && long.length < 256_000, String(long.length));
    const file = join(dir, 'long.txt');
    await writeFile(file, `${long}\n`);
    stack.model.enqueue({ kind: 'reply', content: 'Read it all.' });
    const fromFile = parsed<LettaResponse>(await memloom(['send', 'cli-wide', '--file', file, '--json']));
    assert.equal(fromFile.messages.at(-1)?.message_type, 'assistant_message');
    stack.model.enqueue({ kind: 'reply', content: 'Piped.' });
    const piped = await memloomProcess(['send', 'cli-wide', '-'], 'Hello from a pipe.\n');
    assert.equal(piped.code, 0, piped.stderr);
    assert.match(piped.stdout, /Piped\./);

    const recall = parsed<LettaMessage[]>(await memloom(['messages', 'cli-wide', '--json']));
    const sent = recall.filter((m) => m.message_type === 'user_message').map((m) => ('content' in m ? m.content : undefined));
    assert.deepEqual(sent, [long, 'Hello from a pipe.'], 'the file is sent whole, without its final newline');
  });
});
