/**
 * The built-in `research-and-write` pipeline, the guide's multi-agent example: a researcher
 * agent researches a topic (or each subtopic, in parallel), then a writer agent writes an article
 * from all the findings.
 * @module
 */
import { z } from 'zod';
import { AgentNameSchema, ToolNameSchema } from '../domain/agent.ts';
import { definePipeline, type AgentRef } from './define-pipeline.ts';

/** An agent id or name, or a template the agent is created from on first use. */
const AgentRefSchema = z.union(
  [
    z.string().trim().min(1, 'must not be empty'),
    z.object({
      name: AgentNameSchema,
      system: z.string().min(1, 'must not be empty').optional(),
      model: z.string().trim().min(1, 'must not be empty').optional(),
      tools: z.array(ToolNameSchema).optional(),
    }),
  ],
  { error: 'must be an agent id or name, or a template { name, system?, model?, tools? }' },
);
type AgentRefInput = z.output<typeof AgentRefSchema>;

export const RESEARCHER_SYSTEM =
  'You are a careful researcher. Find the key facts about what you are asked, with sources where you have them, and report them as concise notes.';
export const WRITER_SYSTEM = 'You are a writer. Turn research notes into a clear, well-structured article.';

/** A template's `model` is a model name: the agent's `llm_config.model`, else the default llm_config's. */
function toRef(ref: AgentRefInput): AgentRef {
  if (typeof ref === 'string') return ref;
  const { model, ...rest } = ref;
  return model === undefined ? rest : { ...rest, llm_config: { model } };
}

/** Lane `n` of a template: its own agent (`name`, `name-2`, ...); an agent named by id or name stays itself. */
function lane(ref: AgentRef, n: number): AgentRef {
  return typeof ref === 'string' || n === 0 ? ref : { ...ref, name: `${ref.name}-${n + 1}` };
}

export const researchAndWrite = definePipeline({
  name: 'research-and-write',
  description: 'A researcher agent researches a topic (each subtopic in parallel), then a writer agent writes an article from the findings',
  input: z.object({
    topic: z.string().trim().min(1, 'must not be empty').max(2000, 'must be at most 2000 characters'),
    subtopics: z.array(z.string().trim().min(1, 'must not be empty')).max(50, 'must have at most 50 subtopics').optional(),
    researcher: AgentRefSchema.default({ name: 'researcher', system: RESEARCHER_SYSTEM }),
    writer: AgentRefSchema.default({ name: 'writer', system: WRITER_SYSTEM }),
    /** Subtopics researched at once. */
    concurrency: z.number().int('must be a whole number').min(1, 'must be at least 1').max(20, 'must be at most 20').default(3),
  }),
  summary: (input) => `research-and-write: ${input.topic}`,
  stages: {
    research: {
      // a template spreads over up to `concurrency` researchers (researcher, researcher-2, ...):
      // each agent answers one message at a time; a named agent takes every subtopic in turn
      agent: ({ input, index }) => lane(toRef(input.researcher), index % input.concurrency),
      forEach: ({ input }) => (input.subtopics && input.subtopics.length > 0 ? input.subtopics : [input.topic]),
      concurrency: 20,
      message: ({ input, item }) =>
        item === input.topic
          ? `Research this topic and report your findings as notes: ${input.topic}`
          : `We are researching "${input.topic}". Research this part of it and report your findings as notes: ${item}`,
    },
    write: {
      after: ['research'],
      agent: ({ input }) => toRef(input.writer),
      message: ({ input, outputs }) =>
        `Write an article about "${input.topic}" from these research notes.\n\n${(outputs.research ?? []).map((n, i) => `## Notes ${i + 1}\n${n}`).join('\n\n')}`,
    },
  },
  output: ({ outputs }) => ({ notes: outputs.research ?? [], article: outputs.write?.[0] ?? '' }),
});
