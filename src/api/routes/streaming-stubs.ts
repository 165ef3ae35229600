/**
 * The parts of Letta's message API that stream or run in the background — `/messages/stream`,
 * `/messages/async` with `/v1/runs/{run_id}`, `/messages/cancel` — answer 501 until streaming
 * from inside a durable turn lands (issue 11, point 2). They are left out of openapi.json.
 * Replace this module with the real routes.
 * @module
 */
import type { ServerApp } from '../env.ts';
import { HttpError } from '../http-errors.ts';

/** The 501 of a feature that needs streaming. */
export function streamingNotYet(what: string): HttpError {
  return new HttpError(
    501,
    `${what} is not available yet: memloom's API does not stream or run messages in the background so far (it arrives in a later version). ` +
      'Send the message without streaming: POST /v1/agents/{agent_id}/messages answers with the whole LettaResponse.',
  );
}

const STUBS: readonly { method: 'get' | 'post'; path: string; what: string }[] = [
  { method: 'post', path: '/v1/agents/:agent_id/messages/stream', what: 'POST /v1/agents/{agent_id}/messages/stream' },
  { method: 'post', path: '/v1/agents/:agent_id/messages/async', what: 'POST /v1/agents/{agent_id}/messages/async' },
  { method: 'post', path: '/v1/agents/:agent_id/messages/cancel', what: 'POST /v1/agents/{agent_id}/messages/cancel' },
  { method: 'get', path: '/v1/runs/:run_id', what: 'GET /v1/runs/{run_id}' },
  { method: 'get', path: '/v1/runs', what: 'GET /v1/runs/' },
  { method: 'get', path: '/v1/runs/', what: 'GET /v1/runs/' },
];

export function streamingStubRoutes(app: ServerApp): void {
  for (const stub of STUBS) {
    app.on(stub.method.toUpperCase(), stub.path, () => {
      throw streamingNotYet(stub.what);
    });
  }
}
