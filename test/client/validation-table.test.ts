/**
 * Every public SDK method validates its input at the edge: bad input is a ValidationError whose
 * issues name the field, and nothing is written (row counts and versions stay the same).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemloomClient } from '../../src/client/memloom-client.ts';
import { ValidationError } from '../../src/domain/errors.ts';
import { coreMemoryAppend } from '../../src/tools/memory-tools.ts';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack({ startWorker: false });
const { client, db } = stack;

const NUL = 'a\u0000b';
const LONE = 'a\uD800b';

/** Everything a bad call could have written. */
async function snapshot(): Promise<Record<string, unknown>> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT (SELECT count(*)::int FROM agents) AS agents,
            (SELECT max(updated_at) FROM agents) AS agents_updated,
            (SELECT count(*)::int FROM blocks) AS blocks,
            (SELECT coalesce(sum(version), 0)::int FROM blocks) AS block_versions,
            (SELECT count(*)::int FROM agent_blocks) AS agent_blocks,
            (SELECT count(*)::int FROM messages) AS messages,
            (SELECT count(*)::int FROM passages) AS passages,
            (SELECT count(*)::int FROM turns) AS turns,
            (SELECT count(*)::int FROM settings) AS settings,
            (SELECT count(*)::int FROM pipeline_runs) AS pipeline_runs,
            (SELECT count(*)::int FROM batch_jobs) AS batch_jobs`,
  );
  return rows[0]!;
}

await client.createAgent({
  name: 'narrow',
  memory_blocks: [{ label: 'human', value: 'Bob', limit: 100 }],
  llm_config: stack.llmConfig,
});
await client.createAgent({
  name: 'wide',
  memory_blocks: [{ label: 'notes', value: '', limit: 100_000 }],
  llm_config: { ...stack.llmConfig, context_window: 128_000 },
});

/** [method, what is wrong, the call, the issue path it must name, and optionally its message]. */
type Case = [string, string, () => Promise<unknown>, string, RegExp?];

const llm = stack.llmConfig;
const c = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
const call = (method: string, ...args: unknown[]) => () => c[method]!.apply(client, args);

const CASES: Case[] = [
  ['createAgent', 'NUL in name', call('createAgent', { name: NUL, llm_config: llm }), 'name', /NUL/],
  ['createAgent', 'lone surrogate in name', call('createAgent', { name: LONE, llm_config: llm }), 'name', /lone surrogate \\uD800 at character 2/],
  ['createAgent', 'name not a string', call('createAgent', { name: 42, llm_config: llm }), 'name'],
  ['createAgent', 'name too long', call('createAgent', { name: 'x'.repeat(101), llm_config: llm }), 'name'],
  ['createAgent', 'NUL in a block value', call('createAgent', { name: 'b1', memory_blocks: [{ label: 'human', value: NUL }], llm_config: llm }), 'memory_blocks.0.value', /NUL/],
  ['createAgent', 'negative block limit', call('createAgent', { name: 'b2', memory_blocks: [{ label: 'human', limit: -1 }], llm_config: llm }), 'memory_blocks.0.limit'],
  ['createAgent', 'NaN block limit', call('createAgent', { name: 'b3', memory_blocks: [{ label: 'human', limit: Number.NaN }], llm_config: llm }), 'memory_blocks.0.limit'],
  ['createAgent', 'fractional block limit', call('createAgent', { name: 'b4', memory_blocks: [{ label: 'human', limit: 1.5 }], llm_config: llm }), 'memory_blocks.0.limit'],
  [
    'createAgent',
    '5 MB block with a 5 MB limit',
    call('createAgent', { name: 'b5', memory_blocks: [{ label: 'human', value: 'x'.repeat(5_000_000), limit: 5_000_000 }], llm_config: llm }),
    'memory_blocks.0.limit',
    /at most 200000 characters/,
  ],
  [
    'createAgent',
    'block limit over half the context window',
    call('createAgent', { name: 'b6', memory_blocks: [{ label: 'human', limit: 100_000 }], llm_config: llm }),
    'memory_blocks.0.limit',
    /agent b6's context window is 8192 tokens, so a block limit may be at most 16384/,
  ],
  ['createAgent', 'tags not an array', call('createAgent', { name: 'b7', tags: 'team-a', llm_config: llm }), 'tags'],
  ['createAgent', 'NUL in a tag', call('createAgent', { name: 'b8', tags: [NUL], llm_config: llm }), 'tags.0'],
  ['createAgent', 'NaN context window', call('createAgent', { name: 'b9', llm_config: { ...llm, context_window: Number.NaN } }), 'llm_config.context_window'],
  ['createAgent', 'NUL in the model name', call('createAgent', { name: 'b10', llm_config: { ...llm, model: NUL } }), 'llm_config.model'],
  ['createAgent', 'no llm_config and no default', call('createAgent', { name: 'b11' }), 'llm_config', /setDefaultLlmConfig/],
  ['createAgent', 'no context window and no models file', call('createAgent', { name: 'b12', llm_config: { model: llm.model, model_endpoint: llm.model_endpoint } }), 'llm_config.context_window', /is required/],
  ['createAgent', 'zero budget', call('createAgent', { name: 'b13', llm_config: llm, max_budget: 0 }), 'max_budget', /more than 0/],
  ['createAgent', 'NaN budget', call('createAgent', { name: 'b14', llm_config: llm, max_budget: Number.NaN }), 'max_budget'],
  ['createAgent', 'budget window not a duration', call('createAgent', { name: 'b15', llm_config: llm, max_budget: 1, budget_duration: 'daily' }), 'budget_duration', /30s, 10m, 1h, 1d/],
  ['createAgent', 'budget window without a budget', call('createAgent', { name: 'b16', llm_config: llm, budget_duration: '1d' }), 'budget_duration', /needs a max_budget/],
  ['createAgent', 'compaction percentage over 0.9', call('createAgent', { name: 'b17', llm_config: llm, compaction_settings: { sliding_window_percentage: 1.5 } }), 'compaction_settings.sliding_window_percentage', /at most 0\.9/],
  ['createAgent', 'unknown compaction setting', call('createAgent', { name: 'b18', llm_config: llm, compaction_settings: { percentage: 0.5 } }), 'compaction_settings'],
  ['createAgent', 'summarizer model the endpoint does not serve', call('createAgent', { name: 'b19', llm_config: llm, compaction_settings: { model: 'no-such-model' } }), 'compaction_settings.model', /is not served by/],

  ['listAgents', 'negative limit', call('listAgents', { limit: -1 }), 'limit'],
  ['listAgents', 'NaN limit', call('listAgents', { limit: Number.NaN }), 'limit'],
  ['listAgents', 'fractional limit', call('listAgents', { limit: 1.5 }), 'limit'],
  ['listAgents', 'limit over 1000', call('listAgents', { limit: 5000 }), 'limit'],
  ['listAgents', 'tags not an array', call('listAgents', { tags: 'team-a' }), 'tags'],
  ['listAgents', 'NUL in name', call('listAgents', { name: NUL }), 'name'],

  ['getAgent', 'empty', call('getAgent', ''), 'idOrName'],
  ['getAgent', 'NUL', call('getAgent', NUL), 'idOrName', /NUL/],
  ['getAgent', 'not a string', call('getAgent', 42), 'idOrName'],
  ['getAgent', 'too long', call('getAgent', 'x'.repeat(201)), 'idOrName'],

  ['updateAgent', 'NUL in name', call('updateAgent', 'narrow', { name: NUL }), 'name'],
  ['updateAgent', 'lone surrogate in description', call('updateAgent', 'narrow', { description: LONE }), 'description'],
  ['updateAgent', 'tags not an array', call('updateAgent', 'narrow', { tags: 'x' }), 'tags'],
  ['updateAgent', 'unknown field', call('updateAgent', 'narrow', { colour: 'red' }), ''],
  ['updateAgent', 'NUL in agent', call('updateAgent', NUL, { name: 'x' }), 'idOrName'],
  ['updateAgent', 'zero compaction percentage', call('updateAgent', 'narrow', { compaction_settings: { sliding_window_percentage: 0 } }), 'compaction_settings.sliding_window_percentage', /more than 0/],
  ['updateAgent', 'empty summarizer model', call('updateAgent', 'narrow', { compaction_settings: { model: ' ' } }), 'compaction_settings.model', /must name a model/],
  ['updateAgent', 'negative budget', call('updateAgent', 'narrow', { max_budget: -1 }), 'max_budget', /more than 0/],
  ['updateAgent', 'NUL in the budget window', call('updateAgent', 'narrow', { max_budget: 1, budget_duration: NUL }), 'budget_duration'],
  ['updateAgent', 'budget window on an agent without a budget', call('updateAgent', 'narrow', { budget_duration: '1d' }), 'budget_duration', /agent narrow has no budget/],
  [
    'updateAgent',
    'context window too small for a block limit',
    call('updateAgent', 'wide', { llm_config: llm }),
    'llm_config.context_window',
    /too small for the block limits of "notes" \(100000\).*at most 16384/,
  ],

  ['deleteAgent', 'NUL', call('deleteAgent', NUL), 'idOrName'],
  ['getMemory', 'lone surrogate', call('getMemory', LONE), 'idOrName'],

  ['updateBlock', 'NUL in label', call('updateBlock', 'narrow', NUL, { value: 'x' }), 'label'],
  ['updateBlock', 'NUL in value', call('updateBlock', 'narrow', 'human', { value: NUL }), 'value', /NUL/],
  ['updateBlock', 'lone surrogate in value', call('updateBlock', 'narrow', 'human', { value: LONE }), 'value'],
  ['updateBlock', 'negative limit', call('updateBlock', 'narrow', 'human', { limit: -1 }), 'limit'],
  ['updateBlock', 'NaN limit', call('updateBlock', 'narrow', 'human', { limit: Number.NaN }), 'limit'],
  ['updateBlock', 'limit over half the context window', call('updateBlock', 'narrow', 'human', { limit: 100_000 }), 'limit', /context window is 8192 tokens/],
  ['updateBlock', '5 MB value', call('updateBlock', 'narrow', 'human', { value: 'x'.repeat(5_000_000) }), 'value'],
  ['updateBlock', 'value over the limit (in characters)', call('updateBlock', 'narrow', 'human', { value: '😀'.repeat(101) }), 'value', /is 101 characters/],
  ['updateBlock', 'value not a string', call('updateBlock', 'narrow', 'human', { value: 7 }), 'value'],

  ['userMessage', 'NUL', call('userMessage', 'narrow', NUL), 'text', /NUL/],
  ['userMessage', 'lone surrogate', call('userMessage', 'narrow', LONE), 'text', /lone surrogate/],
  ['userMessage', 'not a string', call('userMessage', 'narrow', 42), 'text'],
  [
    'userMessage',
    '100,000 characters to an 8,192-token agent',
    call('userMessage', 'narrow', 'x'.repeat(100_000)),
    'text',
    /message is about 12500 tokens; agent narrow's context window is 8192 tokens, so a message may have at most 4096/,
  ],
  ['userMessage', 'negative maxSteps', call('userMessage', 'narrow', 'hi', { maxSteps: -1 }), 'maxSteps'],
  ['userMessage', 'NaN maxSteps', call('userMessage', 'narrow', 'hi', { maxSteps: Number.NaN }), 'maxSteps'],
  ['userMessage', 'bad messageId', call('userMessage', 'narrow', 'hi', { messageId: 'msg-1' }), 'messageId'],
  ['userMessage', 'NUL in agent', call('userMessage', NUL, 'hi'), 'idOrName'],

  ['consolidateMemory', 'bad messageId', call('consolidateMemory', 'narrow', { messageId: 'msg-1' }), 'messageId', /message-<uuid>/],
  ['consolidateMemory', 'zero maxSteps', call('consolidateMemory', 'narrow', { maxSteps: 0 }), 'maxSteps', /at least 1/],
  ['consolidateMemory', 'unknown option', call('consolidateMemory', 'narrow', { steps: 3 }), ''],
  ['consolidateMemory', 'NUL in agent', call('consolidateMemory', NUL), 'idOrName', /NUL/],

  ['compactAgent', 'bad requestId', call('compactAgent', 'narrow', { requestId: 'compact-1' }), 'requestId', /message-<uuid>/],
  ['compactAgent', 'unknown option', call('compactAgent', 'narrow', { messageId: 'x' }), ''],
  ['compactAgent', 'NUL in agent', call('compactAgent', NUL), 'idOrName', /NUL/],

  ['getBlock', 'NUL in label', call('getBlock', 'narrow', NUL), 'label'],
  ['pageMessages', 'limit 0', call('pageMessages', 'narrow', { limit: 0 }), 'limit'],
  ['pageMessages', 'bad order', call('pageMessages', 'narrow', { order: 'sideways' }), 'order'],
  ['pageMessages', 'bad cursor', call('pageMessages', 'narrow', { after: 'msg-1' }), 'after'],
  ['listArchivalMemory', 'limit 0', call('listArchivalMemory', 'narrow', { limit: 0 }), 'limit'],
  ['listArchivalMemory', 'unknown option', call('listArchivalMemory', 'narrow', { query: 'x' }), ''],
  ['deleteArchivalMemory', 'bad passage id', call('deleteArchivalMemory', 'narrow', 'p-1'), 'passageId'],

  ['startMessage', 'empty text', call('startMessage', 'narrow', ''), 'text'],
  ['startMessage', 'bad messageId', call('startMessage', 'narrow', 'hi', { messageId: 'msg-1' }), 'messageId'],
  ['cancelTurn', 'bad message id', call('cancelTurn', 'msg-1'), 'messageId'],
  ['cancelOpenTurns', 'NUL in agent', call('cancelOpenTurns', NUL), 'idOrName', /NUL/],
  ['turnState', 'bad message id', call('turnState', 'msg-1'), 'messageId'],

  ['retryTurn', 'bad message id', call('retryTurn', 'msg-1'), 'messageId'],
  ['getTurn', 'NUL', call('getTurn', NUL), 'messageId'],
  ['turnProgress', 'NUL', call('turnProgress', NUL), 'messageId'],
  ['unregisteredTools', 'not an array', call('unregisteredTools', 'search_web'), 'tools'],
  ['unregisteredTools', 'NUL in a name', call('unregisteredTools', ['ok', NUL]), 'tools.1'],

  ['listMessages', 'negative limit', call('listMessages', 'narrow', { limit: -1 }), 'limit'],
  ['listMessages', 'NaN limit', call('listMessages', 'narrow', { limit: Number.NaN }), 'limit'],
  ['listMessages', 'fractional before', call('listMessages', 'narrow', { before: 1.5 }), 'before'],
  ['listMessages', 'NUL in agent', call('listMessages', NUL), 'idOrName'],

  ['insertArchivalMemory', 'NUL', call('insertArchivalMemory', 'narrow', NUL), 'text', /NUL/],
  ['insertArchivalMemory', 'lone surrogate', call('insertArchivalMemory', 'narrow', LONE), 'text'],
  ['insertArchivalMemory', 'too long', call('insertArchivalMemory', 'narrow', 'x'.repeat(200_001)), 'text'],
  ['insertArchivalMemory', 'tags not an array', call('insertArchivalMemory', 'narrow', 'note', 'tag'), 'tags'],
  ['insertArchivalMemory', 'NUL in a tag', call('insertArchivalMemory', 'narrow', 'note', [NUL]), 'tags.0'],
  ['insertArchivalMemory', 'empty tag', call('insertArchivalMemory', 'narrow', 'note', ['']), 'tags.0'],
  ['importArchivalFile', 'neither file nor text', call('importArchivalFile', 'narrow', {}), 'file', /is required/],
  ['importArchivalFile', 'overlap not under the chunk size', call('importArchivalFile', 'narrow', { text: 'note', chunkSize: 100, chunkOverlap: 100 }), 'chunkOverlap', /less than the chunk size/],
  ['importArchivalFile', 'chunk size 0', call('importArchivalFile', 'narrow', { text: 'note', chunkSize: 0 }), 'chunkSize'],
  ['importArchivalFile', 'NUL in the text', call('importArchivalFile', 'narrow', { text: NUL }), 'text', /NUL/],
  ['importArchivalFile', 'only whitespace', call('importArchivalFile', 'narrow', { text: ' \n ' }), 'text', /must not be empty/],
  ['importArchivalFile', 'a folder as the file', call('importArchivalFile', 'narrow', { file: '.' }), 'file', /is not a file/],
  ['reembedArchivalMemory', 'an agent without embedding_config', call('reembedArchivalMemory', 'narrow'), 'embedding_config', /agent narrow has none/],
  ['reembedArchivalMemory', 'batch size 0', call('reembedArchivalMemory', 'narrow', { batchSize: 0 }), 'batchSize'],

  ['searchArchivalMemory', 'negative topK', call('searchArchivalMemory', 'narrow', 'x', -1), 'topK'],
  ['searchArchivalMemory', 'NaN topK', call('searchArchivalMemory', 'narrow', 'x', Number.NaN), 'topK'],
  ['searchArchivalMemory', 'fractional topK', call('searchArchivalMemory', 'narrow', 'x', 2.5), 'topK'],
  ['searchArchivalMemory', 'NUL in query', call('searchArchivalMemory', 'narrow', NUL), 'query'],
  ['searchArchivalMemory', 'query not a string', call('searchArchivalMemory', 'narrow', 42), 'query'],

  ['getUsage', 'empty', call('getUsage', ''), 'idOrName'],
  ['getBudget', 'NUL', call('getBudget', NUL), 'idOrName', /NUL/],
  ['getStatus', 'NUL', call('getStatus', NUL), 'idOrName'],
  ['usageReport', 'unknown grouping', call('usageReport', { by: 'week' }), 'by', /must be one of agent, model, deployment, day/],
  ['usageReport', 'since neither a duration nor a date', call('usageReport', { since: 'last tuesday' }), 'since', /duration such as 1h, 7d or 30d/],
  ['usageReport', 'NUL in agent', call('usageReport', { agent: NUL }), 'agent', /NUL/],
  ['usageReport', 'unknown option', call('usageReport', { from: '7d' }), ''],

  ['startPipeline', 'unknown pipeline', call('startPipeline', 'no-such-pipeline', {}), 'name', /no pipeline named "no-such-pipeline"/],
  ['startPipeline', 'name not a pipeline name', call('startPipeline', 'Bad Name', {}), 'name'],
  ['startPipeline', 'empty topic', call('startPipeline', 'research-and-write', { topic: '' }), 'input.topic', /must not be empty/],
  ['startPipeline', 'subtopics not an array', call('startPipeline', 'research-and-write', { topic: 't', subtopics: 'a,b' }), 'input.subtopics'],
  ['startPipeline', 'negative budget', call('startPipeline', 'research-and-write', { topic: 't' }, { maxBudget: -1 }), 'maxBudget', /more than 0/],
  ['startPipeline', 'NaN budget', call('startPipeline', 'research-and-write', { topic: 't' }, { maxBudget: Number.NaN }), 'maxBudget'],
  ['startPipeline', 'run id with a slash', call('startPipeline', 'research-and-write', { topic: 't' }, { runId: 'a/b' }), 'runId'],
  ['runPipeline', 'missing topic', call('runPipeline', 'research-and-write', {}), 'input.topic'],
  ['runPipeline', 'zero concurrency', call('runPipeline', 'research-and-write', { topic: 't', concurrency: 0 }), 'input.concurrency', /at least 1/],
  ['getPipelineRun', 'empty', call('getPipelineRun', ''), 'runId'],
  ['getPipelineRun', 'not a string', call('getPipelineRun', 42), 'runId'],
  ['pipelineRuns', 'unknown status', call('pipelineRuns', { status: 'done' }), 'status', /must be one of/],
  ['pipelineRuns', 'zero limit', call('pipelineRuns', { limit: 0 }), 'limit'],
  ['pipelineRuns', 'name not a pipeline name', call('pipelineRuns', { name: "x' OR 1=1" }), 'name'],
  ['createSchedule', 'bad cron', call('createSchedule', 'nightly', { cron: '0 24 * * *', action: { type: 'pipeline', name: 'research-and-write', input: { topic: 't' } } }), 'cron', /hour field "24"/],
  ['createSchedule', 'bad interval', call('createSchedule', 'nightly', { every: 'often', action: { type: 'pipeline', name: 'research-and-write', input: { topic: 't' } } }), 'every', /must be a duration/],
  ['createSchedule', 'unknown time zone', call('createSchedule', 'nightly', { cron: '0 3 * * *', timezone: 'Mars/Base', action: { type: 'pipeline', name: 'research-and-write', input: { topic: 't' } } }), 'timezone'],
  ['createSchedule', 'unknown pipeline', call('createSchedule', 'nightly', { every: '1h', action: { type: 'pipeline', name: 'no-such-pipeline' } }), 'action.name', /no pipeline named/],
  ['createSchedule', 'bad built-in input', call('createSchedule', 'nightly', { every: '1h', action: { type: 'pipeline', name: 'research-and-write', input: { topic: '' } } }), 'action.input.topic'],
  ['createSchedule', 'a batch job for an unknown agent', call('createSchedule', 'nightly', { every: '1h', action: { type: 'batch', prompt: 'hi', agents: ['no-such-agent'] } }), 'action.agents.0', /no agent "no-such-agent"/],
  ['createSchedule', 'a batch job with two jobs', call('createSchedule', 'nightly', { every: '1h', action: { type: 'batch', prompt: 'hi', builtin: 'memory-consolidation', all: true } }), 'action.builtin', /give one of prompt, pipeline and builtin/],
  ['createSchedule', 'id with a slash', call('createSchedule', 'a/b', { every: '1h', action: { type: 'pipeline', name: 'research-and-write', input: { topic: 't' } } }), 'id'],
  ['getSchedule', 'empty id', call('getSchedule', ''), 'id'],
  ['updateSchedule', 'id not a string', call('updateSchedule', 42, { every: '1h' }), 'id'],
  ['pauseSchedule', 'NUL in the note', call('pauseSchedule', 'nightly', NUL), 'note', /NUL/],
  ['unpauseSchedule', 'id with a space', call('unpauseSchedule', 'a b'), 'id'],
  ['triggerSchedule', 'empty id', call('triggerSchedule', ''), 'id'],
  ['backfillSchedule', 'from after to', call('backfillSchedule', 'nightly', { from: '2025-02-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }), 'to', /must be after from/],
  ['backfillSchedule', 'not a date', call('backfillSchedule', 'nightly', { from: 'yesterday', to: '2025-01-01T00:00:00Z' }), 'from'],
  ['deleteSchedule', 'id with a slash', call('deleteSchedule', 'a/b'), 'id'],
  ['startBatch', 'no agents chosen', call('startBatch', { prompt: 'hi' }), 'agents', /give agents, a tag, or all/],
  ['startBatch', 'a tag and all', call('startBatch', { prompt: 'hi', tag: 't', all: true }), 'all', /one way/],
  ['startBatch', 'a tag no agent has', call('startBatch', { prompt: 'hi', tag: 'nobody' }), 'tag', /no agent has the tag "nobody"/],
  ['startBatch', 'an unknown agent', call('startBatch', { prompt: 'hi', agents: ['narrow', 'nobody'] }), 'agents.1', /no agent "nobody"/],
  ['startBatch', 'zero concurrency', call('startBatch', { prompt: 'hi', all: true, concurrency: 0 }), 'concurrency', /at least 1/],
  ['startBatch', 'concurrency over 100', call('startBatch', { prompt: 'hi', all: true, concurrency: 101 }), 'concurrency', /at most 100/],
  ['startBatch', 'NUL in the prompt', call('startBatch', { prompt: NUL, all: true }), 'prompt', /NUL/],
  ['startBatch', 'a prompt and a pipeline', call('startBatch', { prompt: 'hi', pipeline: 'brief', all: true }), 'pipeline', /give one of prompt, pipeline and builtin: prompt and pipeline were both given/],
  ['startBatch', 'an unknown built-in job', call('startBatch', { builtin: 'sleep-time', all: true }), 'builtin', /must be a built-in job: memory-consolidation/],
  ['startBatch', 'an unknown pipeline', call('startBatch', { pipeline: 'no-such-pipeline', all: true }), 'pipeline', /no pipeline named/],
  ['startBatch', 'batch id with a slash', call('startBatch', { prompt: 'hi', all: true, batchId: 'a/b' }), 'batchId'],
  ['runBatch', 'empty prompt', call('runBatch', { prompt: ' ', all: true }), 'prompt', /must not be empty/],
  ['getBatch', 'empty', call('getBatch', ''), 'batchId'],
  ['getBatch', 'not a string', call('getBatch', 42), 'batchId'],

  ['setDefaultLlmConfig', 'NUL in model', call('setDefaultLlmConfig', { model: NUL, context_window: 8192 }), 'llm_config.model'],
  ['setDefaultLlmConfig', 'negative context window', call('setDefaultLlmConfig', { model: 'm', context_window: -1 }), 'llm_config.context_window'],
  ['setDefaultEmbeddingConfig', 'NaN dim', call('setDefaultEmbeddingConfig', { embedding_model: 'e', embedding_dim: Number.NaN }), 'embedding_config.embedding_dim'],
  ['setDefaultEmbeddingConfig', 'lone surrogate in model', call('setDefaultEmbeddingConfig', { embedding_model: LONE, embedding_dim: 8 }), 'embedding_config.embedding_model'],
];

/** Methods that take no input, or only close the client. */
const NO_INPUT = new Set([
  'constructor',
  'close',
  'getDefaultLlmConfig',
  'getDefaultEmbeddingConfig',
  'modelsReport',
  'listPipelines',
  'listSchedules',
  'listTools',
  'listModels',
]);

describe('SDK input validation: a table of bad inputs per public method', () => {
  test('every public method with input is in the table', () => {
    const methods = Object.getOwnPropertyNames(MemloomClient.prototype).filter(
      (m) => !NO_INPUT.has(m) && typeof (MemloomClient.prototype as unknown as Record<string, unknown>)[m] === 'function',
    );
    const covered = new Set(CASES.map(([method]) => method));
    assert.deepEqual(methods.filter((m) => !covered.has(m)), [], 'methods without bad-input cases');
  });

  test('each bad input: ValidationError naming the field, and nothing written', async () => {
    const before = await snapshot();
    for (const [method, what, run, path, message] of CASES) {
      const name = `${method}: ${what}`;
      let caught: unknown;
      await run().then(
        () => assert.fail(`${name}: accepted`),
        (e: unknown) => (caught = e),
      );
      assert.ok(caught instanceof ValidationError, `${name}: expected ValidationError, got ${String(caught)}`);
      const issue = caught.issues.find((i) => i.path === path);
      assert.ok(issue, `${name}: no issue at "${path}" in ${JSON.stringify(caught.issues)}`);
      if (message) assert.match(issue.message, message, name);
      assert.ok(path === '' || caught.message.includes(path), `${name}: the message names the field: ${caught.message}`);
    }
    assert.deepEqual(await snapshot(), before, 'nothing was written');
  });
});

describe('sizes count characters, and lists are newest first', () => {
  test('block limits count code points: 5 emoji fit a limit of 5, in the schema, the store and the memory tools', async () => {
    const agent = await client.createAgent({
      name: 'emoji',
      memory_blocks: [{ label: 'human', value: '😀'.repeat(5), limit: 5 }, { label: 'notes', value: '', limit: 5 }],
      llm_config: llm,
    });
    assert.equal(agent.blocks[0]?.value, '😀'.repeat(5));
    const set = await client.updateBlock('emoji', 'human', { value: '🎉'.repeat(5) });
    assert.equal(set.value, '🎉'.repeat(5));
    const result = await coreMemoryAppend.execute({ label: 'notes', content: '😀'.repeat(5) }, { tx: db, agentId: agent.id, callKey: 'test/1/0/0' });
    assert.equal(result, 'Memory block "notes" updated (5/5 characters).');
  });

  test('the caps are exact: a block limit of half the window is accepted, a message one token over half is not', async () => {
    const block = await client.updateBlock('narrow', 'human', { limit: 16_384 });
    assert.equal(block.limit, 16_384);
    // o200k_base has a token for every 8 x's: 4097 tokens
    const tooBig = await client.userMessage('narrow', 'x'.repeat(4097 * 8)).catch((e: unknown) => e);
    assert.ok(tooBig instanceof ValidationError, String(tooBig));
    assert.match(tooBig.message, /about 4097 tokens.*at most 4096/);
  });

  test('listAgents returns the newest first; limit keeps the newest', async () => {
    for (const name of ['first', 'second', 'third']) await client.createAgent({ name, llm_config: llm, tags: ['order'] });
    assert.deepEqual((await client.listAgents({ tags: ['order'] })).map((a) => a.name), ['third', 'second', 'first']);
    assert.deepEqual((await client.listAgents({ tags: ['order'], limit: 2 })).map((a) => a.name), ['third', 'second']);
  });
});
