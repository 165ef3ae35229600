/**
 * `/v1/agents/`: create, list, retrieve, update and delete agents (Letta's `AgentState`).
 * @module
 */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { DEFAULT_CONTEXT_WINDOW, createAgentInput, modelFieldNames, updateAgentInput } from '../agent-input.ts';
import type { RouteDeps, ServerApp } from '../env.ts';
import { withFieldNames } from '../http-errors.ts';
import { lettaAgentState } from '../letta-shapes.ts';
import { CreateAgentBodySchema, ListAgentsQuerySchema, UpdateAgentBodySchema } from '../schemas/agent-schemas.ts';
import { AgentPathSchema, DeletedSchema, errorResponses, jsonBody, jsonResponse } from '../schemas/common.ts';
import { AgentStateSchema } from '../schemas/shapes.ts';
import { openapiRoute } from './register.ts';

/** Letta's default page of agents. */
const DEFAULT_AGENT_LIMIT = 50;

const tags = ['agents'];

const createAgent = createRoute({
  method: 'post',
  path: '/v1/agents/',
  tags,
  summary: 'Create an agent',
  description:
    'Letta’s create-agent body. `model` is a handle (`openai/gpt-4o-mini`) or a model group of the models file; `llm_config` wins over it; ' +
    '`context_window_limit` wins over both windows. Without either, the default llm_config (`memloom defaults llm`). The built-in memory tools are attached unless `include_base_tools` is false.',
  request: { body: jsonBody(CreateAgentBodySchema) },
  responses: { 200: jsonResponse(AgentStateSchema, 'The new agent'), 409: jsonResponse(z.object({ detail: z.string() }), 'An agent of this name exists'), ...errorResponses },
});

const listAgents = createRoute({
  method: 'get',
  path: '/v1/agents/',
  tags,
  summary: 'List agents',
  description: 'Newest first unless `order=asc` (or `ascending=true`); the next page is `after=<last id>`.',
  request: { query: ListAgentsQuerySchema },
  responses: { 200: jsonResponse(z.array(AgentStateSchema), 'A page of agents'), ...errorResponses },
});

const getAgent = createRoute({
  method: 'get',
  path: '/v1/agents/{agent_id}',
  tags,
  summary: 'Retrieve an agent',
  request: { params: AgentPathSchema },
  responses: { 200: jsonResponse(AgentStateSchema, 'The agent, with its blocks and tools'), ...errorResponses },
});

const updateAgent = createRoute({
  method: 'patch',
  path: '/v1/agents/{agent_id}',
  tags,
  summary: 'Update an agent',
  description: 'Changes what the body gives. `tool_ids` (or memloom’s `tools`) replace the agent’s tools.',
  request: { params: AgentPathSchema, body: jsonBody(UpdateAgentBodySchema) },
  responses: { 200: jsonResponse(AgentStateSchema, 'The agent as it is now'), ...errorResponses },
});

const deleteAgent = createRoute({
  method: 'delete',
  path: '/v1/agents/{agent_id}',
  tags,
  summary: 'Delete an agent',
  description: 'Deletes the agent with its messages, passages and blocks, and stops its workflow.',
  request: { params: AgentPathSchema },
  responses: { 200: jsonResponse(DeletedSchema, 'Deleted'), ...errorResponses },
});

export function agentRoutes(app: ServerApp, { client, logger }: RouteDeps): void {
  const writeOptions = {
    defaultContextWindow: DEFAULT_CONTEXT_WINDOW,
    onModelUnchecked: (note: string) => logger.debug({ note }, 'agent model not checked'),
  };

  openapiRoute(app, createAgent, async (c) => {
    const body = c.req.valid('json');
    const tools = await client.listTools();
    const input = await createAgentInput(body, client, tools);
    const agent = await withFieldNames(modelFieldNames(body), () => client.createAgent(input, writeOptions));
    return c.json(lettaAgentState(agent, tools), 200);
  });

  openapiRoute(app, listAgents, async (c) => {
    const q = c.req.valid('query');
    const [found, tools] = await Promise.all([
      client.listAgents({
        ...(q.name !== undefined ? { name: q.name } : {}),
        ...(q.tags !== undefined ? { tags: q.tags } : {}),
        matchAllTags: q.match_all_tags ?? false,
        limit: q.limit ?? DEFAULT_AGENT_LIMIT,
        ...(q.after !== undefined ? { after: q.after } : {}),
        ...(q.before !== undefined ? { before: q.before } : {}),
        order: q.order ?? (q.ascending ? 'asc' : 'desc'),
      }),
      client.listTools(),
    ]);
    return c.json(
      found.map((a) => lettaAgentState(a, tools)),
      200,
    );
  });

  app.openapi(getAgent, async (c) => {
    const [agent, tools] = await Promise.all([client.getAgent(c.req.valid('param').agent_id), client.listTools()]);
    return c.json(lettaAgentState(agent, tools), 200);
  });

  app.openapi(updateAgent, async (c) => {
    const body = c.req.valid('json');
    const [agent, tools] = await Promise.all([client.getAgent(c.req.valid('param').agent_id), client.listTools()]);
    const patch = await updateAgentInput(body, client, agent, tools);
    const updated = await withFieldNames(modelFieldNames(body), () => client.updateAgent(agent.id, patch, writeOptions));
    return c.json(lettaAgentState(updated, tools), 200);
  });

  app.openapi(deleteAgent, async (c) => {
    const agent = await client.deleteAgent(c.req.valid('param').agent_id);
    return c.json({ message: `Agent id=${agent.id} successfully deleted` }, 200);
  });
}
