/**
 * `memloom agent ...`: create, list, show, update and delete agents, consolidate their memory and
 * compact their context.
 * @module
 */
import { Command } from 'commander';
import { z } from 'zod';
import type { CreateAgentInput, CreateBlockInput, UpdateAgentInput } from '../domain/agent.ts';
import type { EmbeddingConfig, EmbeddingConfigInput } from '../domain/llm-config.ts';
import { ConsolidationStatus, type ConsolidationResult } from '../domain/consolidation.ts';
import { ValidationError } from '../domain/errors.ts';
import { MessageIdSchema } from '../domain/ids.ts';
import { setAction } from './command-context.ts';
import { addCompactionOptions, compactCommand, compactionFlagOf, CompactionFlagsSchema, compactionSettingsFromFlags } from './compaction-commands.ts';
import { formatAgent, formatAgentList } from './format.ts';
import {
  addJsonOption,
  AGENT_EMBEDDING_FLAGS,
  agentArg,
  assignmentFlag,
  countFlag,
  addLlmOptions,
  collect,
  DEFAULT_CONTEXT_WINDOW,
  embeddingConfigFromFlags,
  embeddingFlagOf,
  flagError,
  flagName,
  hasLlmFlags,
  intFlag,
  llmConfigFromFlags,
  llmFlagOf,
  LlmFlagsSchema,
  numberFlag,
  parseFlags,
  withFlagPaths,
} from './options.ts';
import { printNote, printResult } from './output.ts';

const tagFlag = z.string().min(1, 'must not be empty');

/**
 * A flag with a `--no-` form that removes the setting: commander gives `false` for it, which
 * becomes null; a value is parsed by `schema`, keeping its own message.
 */
function clearable<T>(schema: z.ZodType<T, string>) {
  return z.union([z.literal(false), z.string()]).transform((value, ctx): T | null => {
    if (value === false) return null;
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
    return z.NEVER;
  });
}

/** Budget flags: the client checks the values (more than 0, a LiteLLM duration). */
const BudgetFlagsSchema = z.object({ maxBudget: numberFlag.optional(), budgetDuration: z.string().optional() });

const BUDGET_HELP = {
  maxBudget: 'US dollars of model calls the agent may spend (per --budget-duration, else in all); a turn over it fails with BudgetExceeded',
  budgetDuration: 'the budget window: 30s, 10m, 1h, 1d, 7d, 30d, 2w or 1mo, aligned to UTC (default: none, a lifetime budget)',
} as const;

/** `--embedding`, `--embedding-endpoint`, `--embedding-dim`: the client checks the values. */
const EmbeddingFlagsSchema = z.object({ embedding: z.string().optional(), embeddingEndpoint: z.string().optional(), embeddingDim: intFlag.optional() });
type EmbeddingFlags = z.output<typeof EmbeddingFlagsSchema>;

const EMBEDDING_HELP = {
  embedding: "embedding model of the agent's archival memory, e.g. text-embedding-3-small (default: `memloom defaults embedding`)",
  embeddingEndpoint: "base URL of an OpenAI-compatible endpoint serving /v1/embeddings (default: the default embedding_config's, else the worker's LLM_BASE_URL)",
  embeddingDim: "dimension of the model's vectors (needed unless memloom knows the model: OpenAI's text-embedding-*)",
} as const;

function addEmbeddingOptions(command: Command): Command {
  return command
    .option('--embedding <model>', EMBEDDING_HELP.embedding)
    .option('--embedding-endpoint <url>', EMBEDDING_HELP.embeddingEndpoint)
    .option('--embedding-dim <n>', EMBEDDING_HELP.embeddingDim);
}

const hasEmbeddingFlags = (f: EmbeddingFlags): boolean => f.embedding !== undefined || f.embeddingEndpoint !== undefined || f.embeddingDim !== undefined;

/** The embedding_config the flags give, over `base`; undefined without embedding flags. */
function embeddingFromFlags(flags: EmbeddingFlags, base: EmbeddingConfig | null): EmbeddingConfigInput | undefined {
  if (!hasEmbeddingFlags(flags)) return undefined;
  return embeddingConfigFromFlags({ model: flags.embedding, endpoint: flags.embeddingEndpoint, dim: flags.embeddingDim }, base, AGENT_EMBEDDING_FLAGS);
}

const CreateFlagsSchema = LlmFlagsSchema.extend(BudgetFlagsSchema.shape).extend(EmbeddingFlagsSchema.shape).extend(CompactionFlagsSchema.shape).extend({
  name: z.string(),
  system: z.string().optional(),
  description: z.string().optional(),
  block: z.array(assignmentFlag).default([]),
  blockLimit: z.array(assignmentFlag.pipe(z.tuple([z.string(), intFlag]))).default([]),
  tool: z.array(z.string()).default([]),
  tag: z.array(tagFlag).default([]),
  baseTools: z.boolean().default(true),
});

/** `--block human=...` and `--block-limit human=2000` → memory blocks, in flag order. */
export function blocksFromFlags(blockFlags: [string, string][], limitFlags: [string, number][]): CreateBlockInput[] {
  const blocks: CreateBlockInput[] = blockFlags.map(([label, value]) => ({ label, value }));
  for (const [label, limit] of limitFlags) {
    const block = blocks.find((b) => b.label === label);
    if (!block) flagError('--block-limit', `no --block with label "${label}"`);
    block.limit = limit;
  }
  return blocks;
}

type AgentLlmConfigInput = NonNullable<CreateAgentInput['llm_config']>;

/**
 * Without `--context-window` (`given`), an llm_config leaves its window to the client: the model
 * group's max_input_tokens (MEMLOOM_MODELS), else the window the command passes as its default.
 */
function withWindowOf(config: AgentLlmConfigInput, given: number | undefined): AgentLlmConfigInput {
  if (given !== undefined) return { ...config, context_window: given };
  const { context_window: _left, ...rest } = config;
  return rest;
}

function createAgentInput(options: Record<string, unknown>): CreateAgentInput {
  const flags = parseFlags(CreateFlagsSchema, options);
  const { model, modelEndpoint, contextWindow, temperature, maxTokens } = flags;
  const llm = { model, modelEndpoint, contextWindow, temperature, maxTokens };
  const compaction = compactionSettingsFromFlags(flags);
  return {
    name: flags.name,
    ...(flags.system !== undefined ? { system: flags.system } : {}),
    ...(flags.description !== undefined ? { description: flags.description } : {}),
    memory_blocks: blocksFromFlags(flags.block, flags.blockLimit),
    // without llm flags the persisted default (`memloom defaults llm`) applies
    ...(hasLlmFlags(llm) ? { llm_config: withWindowOf(llmConfigFromFlags(llm), contextWindow) } : {}),
    tools: flags.tool,
    tags: flags.tag,
    include_base_tools: flags.baseTools,
    ...(flags.maxBudget !== undefined ? { max_budget: flags.maxBudget } : {}),
    ...(flags.budgetDuration !== undefined ? { budget_duration: flags.budgetDuration } : {}),
    ...(compaction !== undefined ? { compaction_settings: compaction } : {}),
  };
}

/** Client issue paths → the flags that set them. */
function agentFlagOf(input: CreateAgentInput): (path: string) => string | undefined {
  return (path) => {
    const block = /^memory_blocks\.(\d+)\.(\w+)$/.exec(path);
    if (block) {
      const label = input.memory_blocks?.[Number(block[1])]?.label ?? '';
      return block[2] === 'limit' ? `--block-limit ${label}` : `--block ${label}`;
    }
    if (/^tools\.\d+$/.test(path)) return '--tool';
    if (/^tags\.\d+$/.test(path)) return '--tag';
    if (path === 'name' || path === 'system' || path === 'description') return `--${path}`;
    return budgetFlagOf(path) ?? compactionFlagOf(path) ?? llmFlagOf(path) ?? embeddingFlagOf(AGENT_EMBEDDING_FLAGS)(path);
  };
}

/** `max_budget` → `--max-budget`, `budget_duration` → `--budget-duration`. */
function budgetFlagOf(path: string): string | undefined {
  return path === 'max_budget' ? '--max-budget' : path === 'budget_duration' ? '--budget-duration' : undefined;
}

/**
 * The SDK's "llm_config is required" names its own method; on the command line the fix is
 * a model flag or `memloom defaults llm`.
 */
function withCliHints(error: unknown): unknown {
  if (!(error instanceof ValidationError) || !error.issues.some((i) => i.path === 'llm_config')) return error;
  const issues = error.issues.map((i) =>
    i.path === 'llm_config'
      ? {
          path: '--model',
          message:
            'is required: no default model is set. Pass --model (and --model-endpoint), or set a default once with ' +
            '`memloom defaults llm --model NAME --model-endpoint URL`',
        }
      : i,
  );
  return new ValidationError(issues, error.subject);
}

function createCommand(): Command {
  const command = new Command('create')
    .summary('create an agent with memory blocks, tools and a model')
    .description(
      'Create an agent: a name, a system prompt, core memory blocks that stay in its context, tools and an llm_config. ' +
        'Without model flags the default set by `memloom defaults llm` is used.',
    )
    .requiredOption('--name <name>', 'unique agent name')
    .option('--system <prompt>', "system prompt (default: memloom's memory-aware prompt)")
    .option('--description <text>', 'what the agent is for')
    .option('--block <label=value>', 'a core memory block, e.g. human= or persona="I am ..." (repeatable)', collect)
    .option('--block-limit <label=chars>', "character limit of a block given with --block (default 5000; repeatable)", collect)
    .option('--tool <name>', 'attach a tool registered on the worker (repeatable)', collect)
    .option('--tag <tag>', 'tag the agent (repeatable)', collect)
    .option('--no-base-tools', 'do not attach the built-in memory tools (core_memory_append, archival_memory_search, ...)')
    .option('--max-budget <usd>', BUDGET_HELP.maxBudget)
    .option('--budget-duration <duration>', BUDGET_HELP.budgetDuration);
  addLlmOptions(command);
  addEmbeddingOptions(command);
  addCompactionOptions(command, { update: false });
  addJsonOption(command);
  command.addHelpText(
    'after',
    `
Examples:
  $ memloom agent create --name my-assistant --block human= --block "persona=I am a helpful assistant." \\
      --model gpt-4o-mini --model-endpoint http://localhost:4000
  $ memloom agent create --name researcher --tool search_web --tag team-a --block-limit human=2000 --block human=
  $ memloom agent create --name capped --model smart --max-budget 5 --budget-duration 1d
  $ memloom agent create --name librarian --embedding text-embedding-3-small
  $ memloom agent create --name chatty --model smart --compaction-percentage 0.5 --summarizer-model fast`,
  );
  return setAction(command, async (ctx, _args, options) => {
    const input = createAgentInput(options);
    const embeddingFlags = parseFlags(EmbeddingFlagsSchema, options);
    const client = await ctx.client();
    // without embedding flags the persisted default (`memloom defaults embedding`) applies
    if (hasEmbeddingFlags(embeddingFlags)) input.embedding_config = embeddingFromFlags(embeddingFlags, await client.getDefaultEmbeddingConfig());
    const agent = await client
      .createAgent(input, { onModelUnchecked: (note) => printNote(ctx.mode, note), defaultContextWindow: DEFAULT_CONTEXT_WINDOW })
      .catch((e: unknown) => {
        throw withFlagPaths(withCliHints(e), agentFlagOf(input));
      });
    printResult(ctx.mode, agent, (a) => `created agent ${a.name} (${a.id})\n${formatAgent(a)}`);
    const missing = await client.unregisteredTools(agent.tools);
    if (missing.length > 0) {
      printNote(
        ctx.mode,
        `warning: no worker has registered ${missing.map((n) => `"${n}"`).join(', ')}: the model is offered ` +
          'a tool only once a worker that has it runs (`memloom worker --tools MODULE`, or `memloom dev --tools MODULE`)',
      );
    }
  });
}

const ListFlagsSchema = z.object({ tag: z.array(tagFlag).default([]), name: z.string().optional(), limit: countFlag(1000).optional() });

function listCommand(): Command {
  const command = new Command('list')
    .summary('list agents')
    .description('List agents, newest first, optionally filtered by name or tags (an agent must have every --tag).')
    .option('--tag <tag>', 'only agents with this tag (repeatable)', collect)
    .option('--name <name>', 'only the agent with this name')
    .option('--limit <n>', 'at most this many agents, the newest (1 to 1000; default 1000)');
  addJsonOption(command);
  command.addHelpText('after', '\nExamples:\n  $ memloom agent list\n  $ memloom agent list --tag team-a --json');
  return setAction(command, async (ctx, _args, options) => {
    const flags = parseFlags(ListFlagsSchema, options);
    const client = await ctx.client();
    const list = await client.listAgents({
      ...(flags.name !== undefined ? { name: flags.name } : {}),
      ...(flags.tag.length > 0 ? { tags: flags.tag } : {}),
      ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
    });
    printResult(ctx.mode, list, formatAgentList);
  });
}

function showCommand(): Command {
  const command = new Command('show')
    .summary('show an agent, its memory and its workflow status')
    .description(
      "Show an agent: its llm_config, tools, tags, memory blocks, what its workflow is doing now, its model usage (calls, tokens, cost when the endpoint reports it) and its budget with the spend of the current window, and its compaction settings (defaults marked).",
    )
    .argument('<agent>', 'agent id (agent-...) or name');
  addJsonOption(command);
  command.addHelpText('after', '\nExamples:\n  $ memloom agent show my-assistant\n  $ memloom agent show agent-0d6f... --json');
  return setAction(command, async (ctx, [idOrName]) => {
    const ref = agentArg(idOrName);
    const client = await ctx.client();
    const agent = await client.getAgent(ref);
    const [status, usage, budget] = await Promise.all([client.getStatus(agent.id), client.getUsage(agent.id), client.getBudget(agent.id)]);
    printResult(ctx.mode, { ...agent, status, usage, budget }, (a) => formatAgent(a, a.status, a.usage, a.budget));
  });
}

const UpdateFlagsSchema = LlmFlagsSchema.extend(EmbeddingFlagsSchema.shape).extend(CompactionFlagsSchema.shape).extend({
  maxBudget: clearable(numberFlag).optional(),
  budgetDuration: clearable(z.string()).optional(),
  name: z.string().optional(),
  system: z.string().optional(),
  description: z.string().optional(),
  tag: z.array(tagFlag).optional(),
});

function updateCommand(): Command {
  const command = new Command('update')
    .summary("change an agent's name, prompt, tags, model or compaction settings")
    .description(
      'Change an agent: rename it, replace its system prompt, description or tags, or change its llm_config (model flags are merged into the current one), ' +
        'its embedding_config (embedding flags likewise) or its compaction settings (likewise; see `memloom agent compact --help`).',
    )
    .argument('<agent>', 'agent id (agent-...) or name')
    .option('--name <name>', 'new unique name')
    .option('--system <prompt>', 'new system prompt')
    .option('--description <text>', 'new description')
    .option('--tag <tag>', 'replace the tags with these (repeatable)', collect)
    .option('--max-budget <usd>', BUDGET_HELP.maxBudget)
    .option('--no-max-budget', 'remove the budget')
    .option('--budget-duration <duration>', BUDGET_HELP.budgetDuration.replace(/ \(default.*\)$/, ''))
    .option('--no-budget-duration', 'make the budget a lifetime one (it never resets)');
  addLlmOptions(command);
  addEmbeddingOptions(command);
  addCompactionOptions(command, { update: true });
  addJsonOption(command);
  command.addHelpText(
    'after',
    `
Examples:
  $ memloom agent update my-assistant --model gpt-4o --context-window 128000
  $ memloom agent update my-assistant --system "You are terse."
  $ memloom agent update my-assistant --max-budget 2.50 --budget-duration 7d
  $ memloom agent update my-assistant --embedding nomic-embed-text --embedding-endpoint http://localhost:11434/v1 --embedding-dim 768
  $ memloom agent update my-assistant --compaction-percentage 0.5 --summarizer-model gpt-4o-mini`,
  );
  return setAction(command, async (ctx, [idOrName], options) => {
    const ref = agentArg(idOrName);
    const flags = parseFlags(UpdateFlagsSchema, options);
    const { model, modelEndpoint, contextWindow, temperature, maxTokens } = flags;
    const llm = { model, modelEndpoint, contextWindow, temperature, maxTokens };
    const client = await ctx.client();
    const patch: UpdateAgentInput = {
      ...(flags.name !== undefined ? { name: flags.name } : {}),
      ...(flags.system !== undefined ? { system: flags.system } : {}),
      ...(flags.description !== undefined ? { description: flags.description } : {}),
      ...(flags.tag !== undefined ? { tags: flags.tag } : {}),
      ...(flags.maxBudget !== undefined ? { max_budget: flags.maxBudget } : {}),
      ...(flags.budgetDuration !== undefined ? { budget_duration: flags.budgetDuration } : {}),
    };
    if (hasLlmFlags(llm)) {
      const current = (await client.getAgent(ref)).llm_config;
      const merged = llmConfigFromFlags(llm, current);
      // another model group brings its own max_input_tokens, unless --context-window says otherwise
      patch.llm_config = model !== undefined && model !== current.model ? withWindowOf(merged, contextWindow) : merged;
    }
    if (hasEmbeddingFlags(flags)) {
      const current = (await client.getAgent(ref)).embedding_config ?? (await client.getDefaultEmbeddingConfig());
      patch.embedding_config = embeddingFromFlags(flags, current);
    }
    if (flags.compactionPercentage !== undefined || flags.summarizerModel !== undefined) {
      patch.compaction_settings = compactionSettingsFromFlags(flags, (await client.getAgent(ref)).compaction_settings);
    }
    if (Object.keys(patch).length === 0) flagError('', 'nothing to change: pass at least one option (see --help)');
    const agent = await client.updateAgent(ref, patch, { onModelUnchecked: (note) => printNote(ctx.mode, note) }).catch((e: unknown) => {
      throw withFlagPaths(e, (p) =>
        p === 'name' || p === 'system' || p === 'description'
          ? `--${p}`
          : /^tags\.\d+$/.test(p)
            ? '--tag'
            : (budgetFlagOf(p) ?? compactionFlagOf(p) ?? llmFlagOf(p) ?? embeddingFlagOf(AGENT_EMBEDDING_FLAGS)(p)),
      );
    });
    printResult(ctx.mode, agent, (a) => `updated agent ${a.name} (${a.id})\n${formatAgent(a)}`);
  });
}

function deleteCommand(): Command {
  const command = new Command('delete')
    .summary('delete an agent and its memory')
    .description('Delete an agent with its messages, archival passages and unshared memory blocks, and stop its workflow.')
    .argument('<agent>', 'agent id (agent-...) or name');
  addJsonOption(command);
  command.addHelpText('after', '\nExample:\n  $ memloom agent delete my-assistant');
  return setAction(command, async (ctx, [idOrName]) => {
    const ref = agentArg(idOrName);
    const client = await ctx.client();
    const agent = await client.deleteAgent(ref);
    printResult(ctx.mode, { deleted: true, id: agent.id, name: agent.name }, (d) => `deleted agent ${d.name} (${d.id})`);
  });
}

const ConsolidateFlagsSchema = z.object({ messageId: MessageIdSchema.optional(), maxSteps: intFlag.optional() });

/** What a consolidation did, for people. */
export function formatConsolidation(r: ConsolidationResult): string {
  if (r.status === ConsolidationStatus.NothingNew) return `agent ${r.agentName}: nothing new since the last consolidation; no turn ran`;
  const changed = r.blocksChanged.length > 0 ? `blocks changed: ${r.blocksChanged.join(', ')}` : 'no block changed';
  const steps = `${r.usage.step_count} step${r.usage.step_count === 1 ? '' : 's'}`;
  return [
    `consolidated the memory of agent ${r.agentName} (${r.agentId})`,
    `reviewed ${r.reviewedMessages} message${r.reviewedMessages === 1 ? '' : 's'}; ${changed}`,
    `${steps}, ${r.usage.total_tokens} tokens; the turn: memloom turn show ${r.messageId ?? ''}`,
  ].join('\n');
}

function consolidateCommand(): Command {
  const command = new Command('consolidate')
    .summary("rewrite an agent's core memory from its recent conversation")
    .description(
      "Consolidate an agent's memory (Letta's sleep-time memory): one turn in the agent's own queue, after the messages " +
        'sent before it, in which its model reviews the messages since the last consolidation and rewrites the core ' +
        'memory blocks with the memory tools. Nothing of it is shown to the user or enters later turns (`memloom turn show` ' +
        'shows it). With no message since the last consolidation no model is called. Needs a running `memloom worker`.',
    )
    .argument('<agent>', 'agent id (agent-...) or name')
    .option('--message-id <id>', 'idempotency key message-<uuid>: consolidating again with it returns the same outcome')
    .option('--max-steps <n>', 'at most this many model calls in the turn (default 10)');
  addJsonOption(command);
  command.addHelpText(
    'after',
    '\nExamples:\n  $ memloom agent consolidate my-assistant\n  $ memloom agent consolidate my-assistant --json | jq .blocksChanged',
  );
  return setAction(command, async (ctx, [idOrName], options) => {
    const ref = agentArg(idOrName);
    const flags = parseFlags(ConsolidateFlagsSchema, options);
    const client = await ctx.client();
    const result = await client
      .consolidateMemory(ref, {
        ...(flags.messageId !== undefined ? { messageId: flags.messageId } : {}),
        ...(flags.maxSteps !== undefined ? { maxSteps: flags.maxSteps } : {}),
      })
      .catch((e: unknown) => {
        throw withFlagPaths(e, (p) => (p === 'maxSteps' || p === 'messageId' ? flagName(p) : undefined));
      });
    printResult(ctx.mode, result, formatConsolidation);
  });
}

export function agentCommands(): Command {
  return new Command('agent')
    .summary('create, list, show, update and delete agents; consolidate their memory, compact their context')
    .description(
      'Create, list, show, update and delete agents (stateful LLM agents with persistent memory), consolidate their memory and compact their context.',
    )
    .addCommand(createCommand())
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(updateCommand())
    .addCommand(deleteCommand())
    .addCommand(consolidateCommand())
    .addCommand(compactCommand());
}
