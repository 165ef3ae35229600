/**
 * `/v1/health/` and `/v1/models/`: the server's version, and the models agents can name (the
 * groups of the models file, the default llm_config) in Letta's `Model` shape.
 * @module
 */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { DEFAULT_CONTEXT_WINDOW } from '../agent-input.ts';
import type { RouteDeps, ServerApp } from '../env.ts';
import { lettaModel } from '../letta-shapes.ts';
import { errorResponses, jsonResponse } from '../schemas/common.ts';
import { HealthSchema, ModelSchema } from '../schemas/shapes.ts';
import { serverVersion } from '../version.ts';
import { openapiRoute } from './register.ts';

const health = createRoute({
  method: 'get',
  path: '/v1/health/',
  tags: ['system'],
  summary: 'Health',
  responses: { 200: jsonResponse(HealthSchema, 'The server answers'), ...errorResponses },
});

const listModels = createRoute({
  method: 'get',
  path: '/v1/models/',
  tags: ['system'],
  summary: 'List the models agents can name',
  description: 'The model groups of the models file (MEMLOOM_MODELS), then the default llm_config’s model (`memloom defaults llm`).',
  request: {
    query: z.looseObject({}).meta({ description: 'Letta’s provider filters are accepted and ignored' }),
  },
  responses: { 200: jsonResponse(z.array(ModelSchema), 'The models'), ...errorResponses },
});

export function systemRoutes(app: ServerApp, { client }: RouteDeps): void {
  openapiRoute(app, health, (c) => c.json({ status: 'ok' as const, version: serverVersion() }, 200));

  openapiRoute(app, listModels, async (c) => {
    const models = await client.listModels();
    return c.json(
      models.map((m) => lettaModel(m, DEFAULT_CONTEXT_WINDOW)),
      200,
    );
  });
}
