/**
 * The `memloom` command against the test stack: what a user types, what they read, and the exit
 * code. Most commands run in this process (the same program, without a process start each);
 * a sample runs as a real subprocess (`bin/memloom.js`), and `memloom worker` always does.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import type { AgentState, Block } from '../../src/domain/agent.ts';
import type { LettaMessage, LettaResponse, ToolReturnMessage } from '../../src/domain/letta-message.ts';
import type { LlmConfig } from '../../src/domain/llm-config.ts';
import type { AgentWorkflowStatus } from '../../src/domain/turn.ts';
import { ADMIN_DATABASE_URL, startTestStack } from '../helpers/stack.ts';
import { rollDice } from './fixtures/tools.ts';
import { CLI, runCli, runCliInProcess, startCliProcess, parsed, errorOf, type CliRun } from '../helpers/cli.ts';
import { buildProgram } from '../../src/cli/program.ts';

const stack = await startTestStack({ tools: [rollDice] });

const TOOLS_FIXTURE = fileURLToPath(new URL('./fixtures/tools.ts', import.meta.url));
const BUNDLE = process.env.MEMLOOM_TEST_WORKFLOW_BUNDLE;
const ENV = { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue };

type Run = CliRun;

/** Runs `memloom ...args` in this process; resolves with the exit code whatever it is. */
function memloom(...args: string[]): Promise<Run> {
  return runCliInProcess(ENV, args);
}

/** Runs `memloom ...args` as a subprocess, as a user does. */
function memloomProcess(...args: string[]): Promise<Run> {
  return runCli(ENV, args);
}

const model = ['--model', stack.llmConfig.model, '--model-endpoint', stack.llmConfig.model_endpoint];

describe('memloom CLI', () => {
  test('--help of the program and of every command exits 0 and says what it does', async () => {
    const cases: [string[], RegExp][] = [
      [[], /stateful LLM agents with persistent memory[\s\S]*Temporal workflow/],
      [['migrate'], /apply pending SQL migrations/],
      [['worker'], /executes agent workflows/],
      [['dev'], /Run everything memloom needs on this machine/],
      [['serve'], /Serve the part of Letta's REST API that its official clients use/],
      [['agent'], /Create, list, show, update and delete agents/],
      [['agent', 'create'], /Create an agent/],
      [['agent', 'list'], /List agents/],
      [['agent', 'show'], /Show an agent/],
      [['agent', 'update'], /Change an agent/],
      [['agent', 'delete'], /Delete an agent/],
      [['agent', 'compact'], /Compact an agent's context now[\s\S]*Recall keeps every message[\s\S]*--compaction-percentage/],
      [['defaults'], /persisted defaults/],
      [['defaults', 'llm'], /default llm_config/],
      [['send'], /Send a user message to an agent/],
      [['messages'], /recall memory/],
      [['turn'], /turn record/],
      [['turn', 'show'], /Show the turn of a user message/],
      [['memory'], /core memory/],
      [['memory', 'show'], /core memory blocks/],
      [['memory', 'set'], /Replace the value of one of an agent's core memory blocks/],
      [['archival'], /archival memory/],
      [['archival', 'insert'], /Add a passage[\s\S]*With --file, import a UTF-8 text file of at most 10 MiB/],
      [['archival', 'search'], /Search an agent's archival memory/],
      [['archival', 'reembed'], /Recompute the vectors of an agent's archival passages/],
      [['models'], /LiteLLM config\.yaml/],
      [['models', 'check'], /Validate a LiteLLM config\.yaml/],
      [['usage'], /Report model calls from the usage table/],
      [['pipeline'], /Run pipelines — durable multi-agent workflows/],
      [['pipeline', 'list'], /List the pipelines you can run/],
      [['pipeline', 'run'], /Start a run of a pipeline and print its id/],
      [['pipeline', 'show'], /Show a pipeline run/],
      [['pipeline', 'result'], /Print the output a completed pipeline run stored/],
      [['pipeline', 'cancel'], /Cancel a pipeline run/],
      [['pipeline', 'runs'], /List pipeline runs from Temporal visibility/],
      [['schedule'], /Schedules with Temporal's Schedules API/],
      [['batch'], /Batch jobs — one message \(or one pipeline run, or the built-in memory-consolidation\) fanned out over many agents/],
      [['batch', 'run'], /Start a batch job: one message sent to each selected agent/],
      [['batch', 'show'], /Show a batch job: its status, its counts/],
      [['batch', 'cancel'], /Cancel a batch job/],
    ];
    // the program's help as a user runs it, a process each for a sample; every command's help
    // in-process (dozens of CLI processes at once starve 2 cores)
    const program = buildProgram();
    const helpOf = (path: string[]): CliRun => {
      let command = program;
      for (const name of path) command = command.commands.find((c) => c.name() === name) ?? assert.fail(`no command ${path.join(' ')}`);
      return { code: 0, stdout: command.helpInformation(), stderr: '', ms: 0 };
    };
    const spawned = await Promise.all([[], ['agent', 'create'], ['pipeline', 'run']].map((path) => memloomProcess(...path, '--help')));
    for (const [i, path] of [[], ['agent', 'create'], ['pipeline', 'run']].entries()) {
      assert.equal(spawned[i]!.code, 0, spawned[i]!.stderr);
      // the process prints the command's help, then its examples
      const flat = (text: string): string => text.replace(/\s+/g, ' ').trim();
      assert.ok(flat(spawned[i]!.stdout).startsWith(flat(helpOf(path).stdout)), `memloom ${path.join(' ')} --help: ${spawned[i]!.stdout}`);
    }
    const runs = cases.map(([path]) => helpOf(path));
    runs.forEach((run, i) => {
      const [path, purpose] = cases[i]!;
      const name = `memloom ${path.join(' ')} --help`;
      assert.equal(run.code, 0, `${name}: ${run.stderr}`);
      // commander wraps descriptions to the terminal width
      assert.match(run.stdout.replace(/\s+/g, ' '), purpose, name);
      const leaf = path.length > 0 && !['agent', 'defaults', 'memory', 'archival', 'turn', 'models', 'pipeline', 'batch', 'schedule'].includes(path.join(' '));
      if (leaf) assert.match(run.stdout, /--json/, `${name} lists --json`);
    });
    // every command of the program is covered above
    const listed = [...runs[0]!.stdout.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]).filter((c) => c !== 'help');
    assert.deepEqual(listed.sort(), cases.filter(([p]) => p.length === 1).map(([p]) => p[0]).sort());
  });

  test('migrate creates the database, applies migrations once, and is idempotent', async () => {
    const name = `memloom_cli_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const url = new URL(ADMIN_DATABASE_URL);
    url.pathname = `/${name}`;
    after(async () => {
      const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    });
    type Report = { databaseCreated: boolean; applied: string[]; alreadyApplied: string[]; searchAttributes: { added: string[] } | null };
    const first = parsed<Report>(await memloomProcess('migrate', '--json', '--database-url', url.toString()));
    assert.equal(first.databaseCreated, true);
    assert.ok(first.applied.includes('001_core.sql'), JSON.stringify(first));
    assert.ok(first.searchAttributes && Array.isArray(first.searchAttributes.added));
    const second = parsed<Report>(await memloom('migrate', '--json', '--database-url', url.toString()));
    assert.equal(second.databaseCreated, false);
    assert.deepEqual(second.applied, []);
    assert.deepEqual(second.alreadyApplied, first.applied);
    assert.deepEqual(second.searchAttributes?.added, []);
    const human = await memloom('migrate', '--no-search-attributes', '--database-url', url.toString());
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /already applied/);
    assert.match(human.stdout, /search attributes: skipped/);
  });

  test('agent create, list and show (by name and by id)', async () => {
    const created = parsed<AgentState>(
      await memloom(
        'agent', 'create', '--name', 'cli-alice', '--system', 'You are a test assistant.',
        '--block', 'human=', '--block', 'persona=I am helpful. = and equals stay.', '--block-limit', 'human=40',
        '--tool', 'roll_dice', '--tag', 'cli', '--tag', 'demo', ...model, '--json',
      ),
    );
    assert.match(created.id, /^agent-/);
    assert.equal(created.system, 'You are a test assistant.');
    assert.deepEqual(
      created.blocks.map((b) => [b.label, b.value, b.limit]),
      [['human', '', 40], ['persona', 'I am helpful. = and equals stay.', 5000]],
    );
    assert.ok(created.tools.includes('roll_dice') && created.tools.includes('core_memory_append'), created.tools.join());
    assert.deepEqual(created.tags, ['cli', 'demo']);
    assert.deepEqual(created.llm_config, { ...stack.llmConfig, model_endpoint_type: 'openai' });

    const [list, byName, byId, human, bare] = await Promise.all([
      memloom('agent', 'list', '--tag', 'cli', '--json'),
      memloom('agent', 'show', 'cli-alice', '--json'),
      memloom('agent', 'show', created.id, '--json'),
      memloom('agent', 'show', 'cli-alice'),
      memloom('agent', 'create', '--name', 'cli-bare', '--no-base-tools', ...model, '--json'),
    ]);
    assert.deepEqual(parsed<AgentState[]>(list).map((a) => a.name), ['cli-alice']);
    const shown = parsed<AgentState & { status: AgentWorkflowStatus | null }>(byName);
    assert.equal(shown.id, created.id);
    assert.deepEqual(shown.blocks, created.blocks);
    assert.equal(shown.status, null);
    assert.equal(parsed<AgentState>(byId).name, 'cli-alice');
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`id: +${created.id}`));
    assert.match(human.stdout, /status: +not running/);
    assert.match(human.stdout, /persona \(32\/5000 chars\)/);
    assert.deepEqual(parsed<AgentState>(bare).tools, []);
  });

  test('send prints the turn; --json prints the LettaResponse; messages lists recall oldest first', async () => {
    stack.model.enqueue(
      { kind: 'reply', reasoning: 'The user wants a roll.', toolCalls: [{ name: 'roll_dice', arguments: { sides: 6 } }] },
      { kind: 'reply', content: 'You rolled a 6.', usage: { prompt_tokens: 100, completion_tokens: 23 } },
    );
    const human = await memloomProcess('send', 'cli-alice', 'Hi');
    assert.equal(human.code, 0, human.stderr);
    const lines = human.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'reasoning: The user wants a roll.');
    assert.equal(lines[1], 'tool call: roll_dice({"sides":6})');
    assert.equal(lines[2], 'tool return (success): rolled 6');
    assert.equal(lines[3], 'assistant: You rolled a 6.');
    assert.match(lines[4] ?? '', /^stop: end_turn · steps 2 · tokens \d+ \(prompt \d+, completion \d+\)$/);

    stack.model.enqueue({ kind: 'reply', content: 'Hello again.' });
    const response = parsed<LettaResponse>(await memloom('send', 'cli-alice', 'Again', '--max-steps', '3', '--json'));
    assert.deepEqual(response.messages.map((m) => m.message_type), ['assistant_message']);
    assert.equal(response.messages[0]?.message_type === 'assistant_message' && response.messages[0].content, 'Hello again.');
    assert.equal(response.stop_reason.stop_reason, 'end_turn');
    assert.equal(response.usage.step_count, 1);
    assert.equal(response.usage.total_tokens, response.usage.prompt_tokens + response.usage.completion_tokens);

    const [recall, recallText, status] = await Promise.all([
      memloom('messages', 'cli-alice', '--json'),
      memloom('messages', 'cli-alice', '--limit', '2'),
      memloom('agent', 'show', 'cli-alice', '--json'),
    ]);
    const messages = parsed<LettaMessage[]>(recall);
    assert.deepEqual(
      messages.map((m) => m.message_type),
      ['user_message', 'reasoning_message', 'tool_call_message', 'tool_return_message', 'assistant_message', 'user_message', 'assistant_message'],
    );
    assert.equal(messages[0]?.message_type === 'user_message' && messages[0].content, 'Hi');
    assert.equal((messages[3] as ToolReturnMessage).tool_return, 'rolled 6');
    const seqs = messages.map((m) => m.seq_id ?? 0);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.equal(recallText.code, 0, recallText.stderr);
    assert.equal(recallText.stdout, 'user: Again\nassistant: Hello again.\n');
    const shown = parsed<{ status: AgentWorkflowStatus | null; usage: { calls: number; total_tokens: number; cost: number | null } }>(status);
    assert.equal(shown.status?.state, 'idle');
    assert.equal(shown.status?.turnsCompleted, 2);
    // three model calls (two steps, then one), no cost reported by a plain endpoint
    assert.equal(shown.usage.calls, 3);
    assert.ok(shown.usage.total_tokens > 0);
    assert.equal(shown.usage.cost, null);
    const text = await memloom('agent', 'show', 'cli-alice');
    assert.match(text.stdout, /^usage: +3 model calls · tokens \d+ \(prompt \d+, completion \d+\)$/m);
  });

  test('agent create warns about a tool no worker has registered, and not about one a worker has', async () => {
    const unknown = await memloom('agent', 'create', '--name', 'cli-tools-a', ...model, '--tool', 'no_such_tool');
    assert.equal(unknown.code, 0, unknown.stderr);
    assert.match(unknown.stderr, /warning: no worker has registered "no_such_tool"/);
    const known = await memloom('agent', 'create', '--name', 'cli-tools-b', ...model, '--tool', 'roll_dice');
    assert.equal(known.code, 0, known.stderr);
    assert.doesNotMatch(known.stderr, /warning/);
  });

  test('a failed turn: send prints the error, a resend the same error, turn show the record, send --retry the answer', async () => {
    const messageId = `message-${randomUUID()}`;
    stack.model.enqueue({ kind: 'error', status: 401 });
    const failed = await memloom('send', 'cli-alice', 'Will this work?', '--message-id', messageId);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /turn failed \(AuthFailed\)/);
    const calls = stack.model.chatRequests().length;
    const again = errorOf(await memloom('send', 'cli-alice', 'Will this work?', '--message-id', messageId, '--json'));
    assert.match(again.message, /AuthFailed/);
    assert.equal(stack.model.chatRequests().length, calls, 'a resent failed turn calls no model');

    const shown = await memloom('turn', 'show', messageId);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^status: +failed · AuthFailed: /m);
    assert.match(shown.stdout, /^ {2}1\. failed \(AuthFailed/m);
    assert.match(shown.stdout, /^ {2}user: Will this work\?$/m);

    stack.model.enqueue({ kind: 'reply', content: 'It works now.' });
    const retried = await memloom('send', '--retry', messageId);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, /^assistant: It works now\.$/m);
    const record = parsed<{ status: string; attempts: { attempt: number; status: string }[] }>(await memloom('turn', 'show', messageId, '--json'));
    assert.equal(record.status, 'completed');
    assert.deepEqual(record.attempts.map((a) => [a.attempt, a.status]), [[1, 'failed'], [2, 'completed']]);

    const missing = errorOf(await memloom('send', 'cli-alice', '--json'));
    assert.match(missing.message, /<agent> <message>.*--retry/);
  });

  test('memory set changes a block; over the limit it fails naming field and limit, value unchanged', async () => {
    const set = await memloom('memory', 'set', 'cli-alice', 'human', 'Name: Alice');
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /human \(11\/40 chars\)/);

    const tooLong = 'x'.repeat(41);
    const [over, overJson] = await Promise.all([
      memloom('memory', 'set', 'cli-alice', 'human', tooLong),
      memloom('memory', 'set', 'cli-alice', 'human', tooLong, '--json'),
    ]);
    assert.equal(over.code, 1);
    assert.equal(over.stdout, '');
    assert.match(over.stderr, /invalid memory block "human"/);
    assert.match(over.stderr, /^ {2}- value: is 41 characters, over the block's limit of 40$/m);
    const error = errorOf(overJson);
    assert.equal(error.code, 'validation_error');
    assert.deepEqual(error.issues, [{ path: 'value', message: "is 41 characters, over the block's limit of 40" }]);

    const [json, human] = await Promise.all([memloom('memory', 'show', 'cli-alice', '--json'), memloom('memory', 'show', 'cli-alice')]);
    const blocks = parsed<Block[]>(json);
    assert.equal(blocks.find((b) => b.label === 'human')?.value, 'Name: Alice');
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^human \(11\/40 chars\):\n {2}Name: Alice$/m);
  });

  test('archival insert and search', async () => {
    const inserted = parsed<{ id: string; tags: string[] }>(
      await memloom('archival', 'insert', 'cli-alice', 'The launch code word is marmalade.', '--tag', 'secret', '--json'),
    );
    assert.deepEqual(inserted.tags, ['secret']);
    const [found, none, human] = await Promise.all([
      memloom('archival', 'search', 'cli-alice', 'marmalade', '--json'),
      memloom('archival', 'search', 'cli-alice', 'pineapple', '--json'),
      memloom('archival', 'search', 'cli-alice', '--top-k', '5'),
    ]);
    assert.deepEqual(parsed<{ id: string }[]>(found).map((p) => p.id), [inserted.id]);
    assert.deepEqual(parsed<unknown[]>(none), []);
    assert.match(human.stdout, /marmalade/);
  });

  test('errors: unknown agent, empty message, bad numbers and blocks, usage errors; --json errors are JSON', async () => {
    const before = parsed<LettaMessage[]>(await memloom('messages', 'cli-alice', '--json')).length;
    const [unknown, unknownJson, empty, badNumber, badNumberJson, badBlock, noModel, noName, lowWindow] = await Promise.all([
      memloomProcess('send', 'no-such-agent', 'Hi'),
      memloom('send', 'no-such-agent', 'Hi', '--json'),
      memloom('send', 'cli-alice', ''),
      memloom('agent', 'create', '--name', 'cli-bad', '--context-window', 'abc'),
      memloom('agent', 'create', '--name', 'cli-bad', '--context-window', '12.5', '--json'),
      memloom('agent', 'create', '--name', 'cli-bad', '--block', 'human'),
      memloom('agent', 'create', '--name', 'cli-bad', '--model-endpoint', stack.llmConfig.model_endpoint),
      memloom('agent', 'create', '--json'),
      memloom('agent', 'create', '--name', 'cli-bad', ...model, '--context-window', '100'),
    ]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /agent not found: no-such-agent/);
    assert.equal(errorOf(unknownJson).code, 'not_found');

    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /text: must not be empty/);
    assert.equal(parsed<LettaMessage[]>(await memloom('messages', 'cli-alice', '--json')).length, before);

    assert.equal(badNumber.code, 1);
    assert.match(badNumber.stderr, /--context-window: must be an integer, got "abc"/);
    assert.deepEqual(errorOf(badNumberJson).issues, [{ path: '--context-window', message: 'must be an integer, got "12.5"' }]);
    assert.equal(badBlock.code, 1);
    assert.match(badBlock.stderr, /--block: must be LABEL=VALUE, got "human"/);
    assert.equal(noModel.code, 1);
    assert.match(noModel.stderr, /--model: is required/);
    assert.equal(noName.code, 1, 'commander exit code of a usage error');
    assert.equal(errorOf(noName).code, 'usage_error');
    assert.match(errorOf(noName).message, /--name/);
    assert.equal(lowWindow.code, 1);
    assert.match(lowWindow.stderr, /--context-window: must be at least 512 tokens/);
    assert.equal(parsed<AgentState[]>(await memloom('agent', 'list', '--name', 'cli-bad', '--json')).length, 0);
  });

  test('defaults llm, agent update and agent delete', async () => {
    assert.equal(parsed<LlmConfig | null>(await memloom('defaults', 'llm', '--json')), null);
    const set = parsed<LlmConfig>(await memloom('defaults', 'llm', ...model, '--context-window', '4096', '--json'));
    assert.equal(set.context_window, 4096);
    const shown = await memloom('defaults', 'llm');
    assert.match(shown.stdout, /default llm_config: scripted-model \(openai, .*, context 4096\)/);

    const bob = parsed<AgentState>(await memloom('agent', 'create', '--name', 'cli-bob', '--json'));
    assert.deepEqual(bob.llm_config, set);
    const updated = parsed<AgentState>(
      await memloom('agent', 'update', 'cli-bob', '--system', 'Be terse.', '--temperature', '0.5', '--tag', 'x', '--json'),
    );
    assert.equal(updated.system, 'Be terse.');
    assert.deepEqual(updated.llm_config, { ...set, temperature: 0.5 });
    assert.deepEqual(updated.tags, ['x']);

    const deleted = await memloom('agent', 'delete', 'cli-bob');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, new RegExp(`deleted agent cli-bob \\(${bob.id}\\)`));
    const [gone, goneJson] = await Promise.all([memloom('agent', 'show', 'cli-bob'), memloom('agent', 'show', bob.id, '--json')]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /agent not found: cli-bob/);
    assert.equal(errorOf(goneJson).code, 'not_found');
  });

  test('worker serves its task queue with the user tools of --tools and stops on SIGTERM', async () => {
    const taskQueue = `memloom-cli-worker-${randomUUID()}`;
    const secret = `sk-cli-secret-${randomUUID()}`;
    const args = [CLI, 'worker', '--tools', TOOLS_FIXTURE, '--task-queue', taskQueue, ...(BUNDLE ? ['--workflow-bundle', BUNDLE] : [])];
    const worker = await startCliProcess(args.slice(1), { ...ENV, LLM_API_KEY: secret, MEMLOOM_LOG_LEVEL: 'warn' });
    const { child, exited } = worker;
    let stderr = worker.stderr;
    assert.match(stderr, new RegExp(`serving task queue "${taskQueue}" on Temporal ${process.env.TEMPORAL_ADDRESS ?? ''}`));
    assert.match(stderr, /user tools: +roll_dice, shout/);
    assert.match(stderr, /model API key: +set/);

    // a turn on that queue runs the `shout` tool, registered only in the subprocess worker
    const onQueue = ['--task-queue', taskQueue];
    parsed<AgentState>(await memloom('agent', 'create', '--name', 'cli-worker-agent', '--tool', 'shout', ...model, '--json', ...onQueue));
    stack.model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'shout', arguments: { text: 'hello' } }] },
      { kind: 'reply', content: 'Shouted.' },
    );
    const r = parsed<LettaResponse>(await memloom('send', 'cli-worker-agent', 'Shout hello', '--json', ...onQueue));
    const ret = r.messages.find((m): m is ToolReturnMessage => m.message_type === 'tool_return_message');
    assert.equal(ret?.tool_return, 'HELLO');

    child.kill('SIGTERM');
    assert.equal(await exited, 0, worker.stderr);
    stderr = worker.stderr;
    assert.equal(worker.stdout, '');
    assert.ok(!stderr.includes(secret), 'the API key is never printed');
  });
});
