/**
 * Pipelines: multi-agent workflows composed of stages, each of which asks an agent. A pipeline is
 * data plus plain functions: the pipeline workflow orders the stages (dependencies, fan-out,
 * bounded concurrency, budget, cancellation) and the functions — which agent, what message, what
 * output — run in activities on the worker that registered the pipeline, so they may read files,
 * call APIs or use randomness without breaking replay.
 * @module
 */
import { z } from 'zod';
import type { CreateAgentInput } from '../domain/agent.ts';
import { ConfigError } from '../domain/errors.ts';

/** An agent template: created on first use under `name`, reused after. */
export type AgentTemplate = Pick<CreateAgentInput, 'name'> & Partial<Omit<CreateAgentInput, 'name'>>;

/** How a stage names its agent: an id (`agent-<uuid>`), a name, or a template. */
export type AgentRef = string | AgentTemplate;

/** The outputs of the stages done so far, by stage name: one text per item, in item order. */
export type StageOutputs = Readonly<Record<string, readonly string[]>>;

/** What a stage's functions see. */
export interface StageContext<I> {
  input: I;
  outputs: StageOutputs;
}

/** One stage: ask an agent, once or once per item (fan-out). */
export interface AskStage<I> {
  /** Stages whose outputs this one reads: it starts when they are all done (fan-in). */
  after?: readonly string[];
  /**
   * The agent asked; with `forEach`, per item (`item`, and its 0-based `index`). One agent
   * answers one message at a time (its mailbox is serialized), so items that should run in
   * parallel at the model need different agents.
   */
  agent: (ctx: StageContext<I> & { item: string | undefined; index: number }) => AgentRef;
  /** Fan out: one message per item, at most `concurrency` at once. Unset: one message. */
  forEach?: (ctx: StageContext<I>) => readonly string[];
  /** At most this many of the stage's messages in flight. @default 4 */
  concurrency?: number;
  /** The message the agent gets; `item` is the fan-out item (undefined without `forEach`). */
  message: (ctx: StageContext<I> & { item: string | undefined }) => string;
  /** @default 10 */
  maxSteps?: number;
}

export type PipelineInputSchema = z.ZodObject;

export interface PipelineSpec<S extends PipelineInputSchema> {
  /** Lowercase letters, digits and dashes, e.g. `research-and-write`. */
  name: string;
  description: string;
  input: S;
  /** In the order they are declared; a stage runs once those it names in `after` are done. */
  stages: Record<string, AskStage<z.output<S>>>;
  /** The run's result, stored in Postgres. @default every stage's outputs */
  output?: (ctx: StageContext<z.output<S>>) => unknown;
  /** The run's one-line summary in the Temporal UI. @default the pipeline's name */
  summary?: (input: z.output<S>) => string;
}

export interface PipelineDefinition<S extends PipelineInputSchema = PipelineInputSchema> extends PipelineSpec<S> {
  /** JSON schema of the input, for `memloom pipeline list` and clients that do not have the module. */
  readonly inputJsonSchema: Record<string, unknown>;
  /** Stage names in declaration order. */
  readonly stageNames: readonly string[];
}

export const DEFAULT_STAGE_CONCURRENCY = 4;
export const PIPELINE_NAME = /^[a-z][a-z0-9-]{0,62}$/;
const STAGE_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/**
 * Defines a pipeline for `memloom worker --pipelines MODULE`.
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { definePipeline } from 'memloom';
 *
 * export const brief = definePipeline({
 *   name: 'brief',
 *   description: 'Research a topic, then summarize it',
 *   input: z.object({ topic: z.string() }),
 *   stages: {
 *     research: { agent: () => 'researcher', message: ({ input }) => `Research ${input.topic}` },
 *     summarize: {
 *       after: ['research'],
 *       agent: () => ({ name: 'summarizer', system: 'You write short briefs.' }),
 *       message: ({ outputs }) => `Summarize:\n${outputs.research!.join('\n')}`,
 *     },
 *   },
 * });
 * ```
 */
export function definePipeline<S extends PipelineInputSchema>(spec: PipelineSpec<S>): PipelineDefinition<S> {
  const where = `definePipeline(${JSON.stringify(spec.name)})`;
  if (!PIPELINE_NAME.test(spec.name)) throw new ConfigError(`${where}: name must be lowercase letters, digits and dashes, starting with a letter`);
  const stageNames = Object.keys(spec.stages);
  if (stageNames.length === 0) throw new ConfigError(`${where}: needs at least one stage`);
  for (const [name, stage] of Object.entries(spec.stages)) {
    if (!STAGE_NAME.test(name)) throw new ConfigError(`${where}: stage "${name}": names are lowercase letters, digits, _ and -`);
    for (const dep of stage.after ?? []) {
      if (!spec.stages[dep]) throw new ConfigError(`${where}: stage "${name}" runs after "${dep}", which is not a stage`);
      if (stageNames.indexOf(dep) >= stageNames.indexOf(name)) {
        throw new ConfigError(`${where}: stage "${name}" runs after "${dep}", which must be declared before it`);
      }
    }
    if (stage.concurrency !== undefined && (!Number.isInteger(stage.concurrency) || stage.concurrency < 1 || stage.concurrency > 100)) {
      throw new ConfigError(`${where}: stage "${name}": concurrency must be a whole number from 1 to 100`);
    }
  }
  const { $schema: _ignored, ...inputJsonSchema } = z.toJSONSchema(spec.input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...spec, inputJsonSchema, stageNames };
}
