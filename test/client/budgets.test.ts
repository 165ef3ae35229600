/**
 * Budgets per agent (`max_budget` USD per `budget_duration`): set and cleared through the SDK
 * and the CLI; spend counted in epoch-aligned windows from the usage ledger; a turn of an agent
 * over its budget fails with BudgetExceeded before anything is written or any model is asked.
 * The `memloom` commands run in this process (the same program as `bin/memloom.js`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agentBudgetStatus, deploymentSpend } from '../../src/db/budget-store.ts';
import { budgetExceededMessage, budgetVerdict, budgetWindow, formatUsd } from '../../src/domain/budget.ts';
import { BudgetExceededError, TurnFailedError, ValidationError } from '../../src/domain/errors.ts';
import { newId, IdPrefix } from '../../src/domain/ids.ts';
import { errorOf, parsed, runCliInProcess } from '../helpers/cli.ts';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack();
const { client, db, model } = stack;
const llm = stack.llmConfig;
const DAY = 86_400_000;

/** A model call of `agentId` that cost `cost` USD, made at `at`. */
async function spent(agentId: string, cost: number, at = new Date(), deployment = 'dep-a'): Promise<void> {
  await db.query(
    `INSERT INTO usage (agent_id, model_group, deployment, latency_ms, outcome, cost, created_at) VALUES ($1, 'g', $2, 1, 'ok', $3, $4)`,
    [agentId, deployment, cost, at],
  );
}

/** What a refused turn could have written. */
async function writes(): Promise<Record<string, number>> {
  const { rows } = await db.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM messages) AS messages, (SELECT count(*)::int FROM turns) AS turns,
            (SELECT count(*)::int FROM turn_attempts) AS attempts, (SELECT count(*)::int FROM usage) AS usage`,
  );
  return rows[0]!;
}

async function rejection<E extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  let caught: unknown;
  await promise.catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  return caught;
}

describe('budget windows and messages (pure)', () => {
  test('windows are fixed periods aligned to the epoch in UTC; a lifetime budget has none', () => {
    const now = new Date('2026-11-26T15:04:05.678Z');
    assert.deepEqual(budgetWindow({ maxBudget: 1, duration: '1d' }, now), {
      start: new Date('2026-11-26T00:00:00Z'),
      resetsAt: new Date('2026-11-27T00:00:00Z'),
    });
    assert.deepEqual(budgetWindow({ maxBudget: 1, duration: '1h' }, now), {
      start: new Date('2026-11-26T15:00:00Z'),
      resetsAt: new Date('2026-11-26T16:00:00Z'),
    });
    const week = budgetWindow({ maxBudget: 1, duration: '7d' }, now);
    assert.equal(week.start!.getTime() % (7 * DAY), 0);
    assert.ok(week.start! <= now && now < week.resetsAt!);
    assert.deepEqual(budgetWindow({ maxBudget: 1, duration: null }, now), { start: null, resetsAt: null });
  });

  test('the message names the budget, the spend and when it resets', () => {
    const budget = { maxBudget: 1, duration: '1d' };
    const now = new Date('2026-11-26T15:00:00Z');
    const verdict = budgetVerdict(budget, budgetWindow(budget, now), 1.2345);
    assert.equal(verdict.exceeded, true);
    assert.equal(
      budgetExceededMessage('x', verdict),
      'agent "x" is over its budget: spent $1.2345 of $1.00 this 1d window; resets at 2026-11-27T00:00:00Z',
    );
    const lifetime = budgetVerdict({ maxBudget: 2, duration: null }, { start: null, resetsAt: null }, 2);
    assert.equal(lifetime.exceeded, true, 'spend that reaches the budget uses it up');
    assert.match(budgetExceededMessage('y', lifetime), /^agent "y" is over its budget: spent \$2\.00 of \$2\.00 in all \(a lifetime budget: it never resets/);
    assert.equal(budgetVerdict({ maxBudget: 2, duration: null }, { start: null, resetsAt: null }, 1.99).exceeded, false);
    assert.deepEqual([formatUsd(0), formatUsd(0.000123), formatUsd(12.5)], ['$0.00', '$0.000123', '$12.50']);
  });
});

describe('budgets on agents', () => {
  test('set on create, changed and removed on update; a window without a budget is refused', async () => {
    const agent = await client.createAgent({ name: 'b-crud', llm_config: llm, max_budget: 5, budget_duration: '7d' });
    assert.deepEqual([agent.max_budget, agent.budget_duration], [5, '7d']);
    assert.deepEqual(await client.getAgent('b-crud'), agent);
    const lifetime = await client.updateAgent('b-crud', { budget_duration: null });
    assert.deepEqual([lifetime.max_budget, lifetime.budget_duration], [5, null]);
    const daily = await client.updateAgent('b-crud', { max_budget: 0.25, budget_duration: '1d' });
    assert.deepEqual([daily.max_budget, daily.budget_duration], [0.25, '1d']);
    const none = await client.updateAgent('b-crud', { max_budget: null });
    assert.deepEqual([none.max_budget, none.budget_duration], [null, null], 'removing the budget removes its window');
    assert.equal(await client.getBudget('b-crud'), null);

    const error = await rejection(client.updateAgent('b-crud', { budget_duration: '1d' }), ValidationError);
    assert.deepEqual(error.issues.map((i) => i.path), ['budget_duration']);
    assert.match(error.message, /budget_duration: needs a max_budget: agent b-crud has no budget/);
    assert.equal((await client.getAgent('b-crud')).budget_duration, null);
  });

  test('bad budgets are ValidationErrors naming the field; nothing is written', async () => {
    const before = await writes();
    const cases: [unknown, string, RegExp][] = [
      [{ max_budget: 0 }, 'max_budget', /must be more than 0/],
      [{ max_budget: -1 }, 'max_budget', /must be more than 0/],
      [{ max_budget: '5' }, 'max_budget', /must be a number of US dollars/],
      [{ max_budget: 1, budget_duration: 'tomorrow' }, 'budget_duration', /must be a duration such as 30s, 10m, 1h, 1d, 7d, 30d, 2w or 1mo, got "tomorrow"/],
      [{ max_budget: 1, budget_duration: '0d' }, 'budget_duration', /must be a duration/],
      [{ max_budget: 1, budget_duration: '99999d' }, 'budget_duration', /at most 3650d/],
      [{ budget_duration: '1d' }, 'budget_duration', /needs a max_budget/],
    ];
    for (const [fields, path, message] of cases) {
      const error = await rejection(client.createAgent({ name: 'b-bad', llm_config: llm, ...(fields as object) }), ValidationError);
      const issue = error.issues.find((i) => i.path === path);
      assert.ok(issue, `${JSON.stringify(fields)}: ${error.message}`);
      assert.match(issue.message, message);
    }
    await client.createAgent({ name: 'b-upd', llm_config: llm, max_budget: 1 });
    const error = await rejection(client.updateAgent('b-upd', { max_budget: null, budget_duration: '1d' }), ValidationError);
    assert.equal(error.issues[0]?.path, 'budget_duration');
    assert.equal((await client.getAgent('b-upd')).max_budget, 1);
    assert.equal((await client.listAgents({ name: 'b-bad' })).length, 0);
    assert.deepEqual(await writes(), before);
  });
});

describe('spend from the usage ledger', () => {
  test('agentBudgetStatus sums the current window only, or everything for a lifetime budget; null without a budget', async () => {
    const agent = await client.createAgent({ name: 'b-ledger', llm_config: llm, max_budget: 1, budget_duration: '30d' });
    const now = new Date();
    const { start, resetsAt } = budgetWindow({ maxBudget: 1, duration: '30d' }, now);
    await spent(agent.id, 0.4, now);
    await spent(agent.id, 0.35, start!);
    await spent(agent.id, 5, new Date(start!.getTime() - 1)); // the previous window
    const verdict = await agentBudgetStatus(db, agent.id, now);
    assert.deepEqual(verdict, { maxBudget: 1, spend: 0.75, duration: '30d', windowStart: start, resetsAt, exceeded: false });
    assert.deepEqual(await client.getBudget('b-ledger'), await agentBudgetStatus(db, agent.id));

    await client.updateAgent(agent.id, { budget_duration: null });
    const lifetime = await agentBudgetStatus(db, agent.id, now);
    assert.equal(lifetime?.spend, 5.75);
    assert.equal(lifetime?.exceeded, true);
    assert.equal(lifetime?.windowStart, null);

    await client.updateAgent(agent.id, { max_budget: null });
    assert.equal(await agentBudgetStatus(db, agent.id, now), null);
    assert.equal(await agentBudgetStatus(db, 'agent-00000000-0000-4000-8000-000000000000', now), null);
  });

  test('deploymentSpend sums cost per deployment since a time; every asked id is a key', async () => {
    const since = new Date(Date.now() - DAY);
    await spent('agent-x', 0.5, new Date(), 'dep-spend-1');
    await spent('agent-y', 0.25, new Date(), 'dep-spend-1');
    await spent('agent-x', 9, new Date(since.getTime() - DAY), 'dep-spend-1');
    await spent('agent-x', 1, new Date(), 'dep-spend-2');
    const spend = await deploymentSpend(db, ['dep-spend-1', 'dep-spend-2', 'dep-spend-idle'], since);
    assert.deepEqual([...spend.entries()], [['dep-spend-1', 0.75], ['dep-spend-2', 1], ['dep-spend-idle', 0]]);
    assert.equal((await deploymentSpend(db, [], since)).size, 0);
  });
});

describe('a turn over its agent’s budget', () => {
  test('fails with BudgetExceeded before any model call, and writes nothing', async () => {
    const agent = await client.createAgent({ name: 'b-turn', llm_config: llm, max_budget: 0.5, budget_duration: '1d' });
    // the first turn costs more than the whole budget (as a LiteLLM proxy reports it)
    model.enqueue({ kind: 'reply', content: 'Expensive answer.', cost: 0.6 });
    const firstId = newId(IdPrefix.Message);
    const first = await client.userMessage(agent.id, 'hello', { messageId: firstId });
    assert.equal(first.messages.at(-1)?.message_type, 'assistant_message');
    const over = await client.getBudget(agent.id);
    assert.equal(over?.spend, 0.6);
    assert.equal(over?.exceeded, true);

    const before = await writes();
    const chats = model.chatRequests().length;
    const messageId = newId(IdPrefix.Message);
    const error = await rejection(client.userMessage(agent.id, 'one more', { messageId }), BudgetExceededError);
    assert.equal(error.code, 'budget_exceeded');
    assert.equal(error.agentId, agent.id);
    assert.equal(error.message, budgetExceededMessage('b-turn', over!));
    assert.match(error.message, /^agent "b-turn" is over its budget: spent \$0\.60 of \$0\.50 this 1d window; resets at \d{4}-\d\d-\d\dT00:00:00Z$/);
    assert.deepEqual(await writes(), before, 'no message, turn or usage row');
    assert.equal(model.chatRequests().length, chats, 'the model was not asked');

    // a message id already answered is answered again, whatever the budget says now
    const again = await client.userMessage(agent.id, 'hello', { messageId: firstId });
    assert.deepEqual(again.messages, first.messages);
    assert.equal(model.chatRequests().length, chats);

    // a larger budget lets the agent talk again
    await client.updateAgent(agent.id, { max_budget: 1 });
    model.enqueue({ kind: 'reply', content: 'Within budget.' });
    const later = await client.userMessage(agent.id, 'one more', { messageId });
    assert.deepEqual(later.messages.at(-1), { ...later.messages.at(-1), message_type: 'assistant_message', content: 'Within budget.' });
  });

  test('retryTurn of a failed turn is refused over budget, with nothing written', async () => {
    const agent = await client.createAgent({ name: 'b-retry', llm_config: llm, max_budget: 1 });
    model.enqueue({ kind: 'error', status: 401 });
    const messageId = newId(IdPrefix.Message);
    await rejection(client.userMessage(agent.id, 'hi', { messageId }), TurnFailedError);
    await spent(agent.id, 1.5);
    const before = await writes();
    const chats = model.chatRequests().length;
    const error = await rejection(client.retryTurn(messageId), BudgetExceededError);
    assert.match(error.message, /agent "b-retry" is over its budget: spent \$1\.50 of \$1\.00 in all/);
    assert.deepEqual(await writes(), before);
    assert.equal(model.chatRequests().length, chats);
    assert.equal((await client.getTurn(messageId)).attempts.length, 1);
  });
});

describe('budgets on the command line', () => {
  const env = { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue, MEMLOOM_LOG_LEVEL: 'warn' };
  const modelFlags = ['--model', llm.model, '--model-endpoint', llm.model_endpoint];

  test('agent create/update --max-budget --budget-duration; agent show prints the spend of the window; send over budget exits 1', async () => {
    const created = parsed<{ id: string; max_budget: number; budget_duration: string }>(
      await runCliInProcess(env, ['agent', 'create', '--name', 'b-cli', ...modelFlags, '--max-budget', '0.10', '--budget-duration', '1d', '--json']),
    );
    assert.deepEqual([created.max_budget, created.budget_duration], [0.1, '1d']);
    await spent(created.id, 0.25);

    const show = await runCliInProcess(env, ['agent', 'show', 'b-cli']);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^budget: +\$0\.25 of \$0\.10 this 1d window \(resets at \d{4}-\d\d-\d\dT00:00:00Z\)$/m);
    const shown = parsed<{ budget: { spend: number; exceeded: boolean } }>(await runCliInProcess(env, ['agent', 'show', 'b-cli', '--json']));
    assert.deepEqual([shown.budget.spend, shown.budget.exceeded], [0.25, true]);

    const chats = model.chatRequests().length;
    const send = await runCliInProcess(env, ['send', 'b-cli', 'hello']);
    assert.equal(send.code, 1);
    assert.match(send.stderr, /^error: agent "b-cli" is over its budget: spent \$0\.25 of \$0\.10 this 1d window; resets at /m);
    assert.equal(errorOf(await runCliInProcess(env, ['send', 'b-cli', 'hello', '--json'])).code, 'budget_exceeded');
    assert.equal(model.chatRequests().length, chats);

    const raised = parsed<{ max_budget: number; budget_duration: string | null }>(
      await runCliInProcess(env, ['agent', 'update', 'b-cli', '--max-budget', '2', '--no-budget-duration', '--json']),
    );
    assert.deepEqual([raised.max_budget, raised.budget_duration], [2, null]);
    const removed = await runCliInProcess(env, ['agent', 'update', 'b-cli', '--no-max-budget']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /^updated agent b-cli/);
    assert.equal((await client.getAgent('b-cli')).max_budget, null);
  });

  test('bad budget flags name the flag', async () => {
    const cases: [string[], RegExp][] = [
      [['agent', 'create', '--name', 'b-cli-bad', ...modelFlags, '--max-budget', 'abc'], /--max-budget: must be a number, got "abc"/],
      [['agent', 'create', '--name', 'b-cli-bad', ...modelFlags, '--max-budget', '0'], /--max-budget: must be more than 0/],
      [['agent', 'create', '--name', 'b-cli-bad', ...modelFlags, '--budget-duration', '1d'], /--budget-duration: needs a max_budget/],
      [['agent', 'create', '--name', 'b-cli-bad', ...modelFlags, '--max-budget', '1', '--budget-duration', 'daily'], /--budget-duration: must be a duration such as 30s/],
      [['agent', 'update', 'b-cli', '--max-budget', '-2'], /--max-budget: must be more than 0/],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCliInProcess(env, args)));
    runs.forEach((run, i) => {
      const [args, expected] = cases[i]!;
      assert.equal(run.code, 1, `${args.join(' ')}: ${run.stdout}`);
      assert.match(run.stderr.replace(/\n {2}- /g, ' '), expected, args.join(' '));
    });
    assert.equal((await client.listAgents({ name: 'b-cli-bad' })).length, 0);
  });
});
