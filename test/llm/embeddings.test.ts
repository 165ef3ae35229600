/**
 * The embedding client against the scripted model server: batches, the `dimensions` parameter and
 * the dimension check, SDK retries, and failures classified as chat failures are (an endpoint
 * that is down, a refused key, a bad request), each a clear message.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { parseModelsConfig, resolveDeploymentKeys } from '../../src/config/models-file.ts';
import { freePort } from '../../src/dev/temporal-cli.ts';
import { startScriptedModelServer, type ScriptedModelServer } from '../../src/dev/scripted-model-server.ts';
import { ValidationError } from '../../src/domain/errors.ts';
import type { EmbeddingConfig } from '../../src/domain/llm-config.ts';
import { embeddingBatches, embedTexts, EmbeddingError } from '../../src/llm/embeddings.ts';
import { ModelClients } from '../../src/llm/model-client.ts';

const KEY = 'sk-embedding-test-secret';

/** The bodies of the `/embeddings` requests the server received, in order. */
function embeddingRequests(server: ScriptedModelServer): Array<{ model: string; input: string[]; dimensions?: number; encoding_format?: string }> {
  return server.requests.filter((r) => r.path.endsWith('/embeddings')).map((r) => r.body as never);
}

async function rejectsWithEmbeddingError(promise: Promise<unknown>): Promise<EmbeddingError> {
  let caught: unknown;
  await promise.catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof EmbeddingError, `expected an EmbeddingError, got ${String(caught)}`);
  return caught;
}

describe('embedTexts', () => {
  let server: ScriptedModelServer;
  let clients: ModelClients;
  let config: EmbeddingConfig;

  before(async () => {
    server = await startScriptedModelServer({ apiKey: KEY });
    clients = new ModelClients({ defaultBaseUrl: undefined, apiKey: KEY });
    config = { embedding_model: 'scripted-embedding', embedding_endpoint_type: 'openai', embedding_endpoint: server.url, embedding_dim: 16 };
  });
  beforeEach(() => server.reset());
  after(() => server.close());

  test('batches by count and by tokens, keeps the order, reports progress', async () => {
    const texts = Array.from({ length: 10 }, (_, i) => `note ${i} about the garden`);
    const progress: number[] = [];
    const result = await embedTexts(clients, config, texts, { maxInputsPerRequest: 4, onProgress: (done) => progress.push(done) });
    assert.deepEqual(embeddingRequests(server).map((r) => r.input.length), [4, 4, 2]);
    assert.deepEqual(progress, [4, 8, 10]);
    assert.equal(result.requests, 3);
    assert.equal(result.vectors.length, 10);
    assert.ok(result.promptTokens > 0);
    // each vector is the text's own: the same as embedding it alone
    const alone = await embedTexts(clients, config, [texts[7]!]);
    assert.deepEqual(result.vectors[7], alone.vectors[0]);
    assert.notDeepEqual(result.vectors[6], result.vectors[7]);
    for (const r of embeddingRequests(server)) {
      assert.equal(r.encoding_format, 'float');
      assert.equal(r.dimensions, undefined, 'no dimensions parameter for a model that may refuse it');
    }
    // the worker's key went as a Bearer token
    assert.equal(server.requests[0]?.headers.authorization, `Bearer ${KEY}`);

    // ~100 tokens a text (300 bytes) and 250 a request: two texts a batch; a text over the limit goes alone
    const long = 'x'.repeat(1500);
    assert.deepEqual(
      embeddingBatches(['a'.repeat(300), 'b'.repeat(300), 'c'.repeat(300), long, 'd'], 100, 250).map((b) => b.length),
      [2, 1, 1, 1],
    );
  });

  test('asks text-embedding-3 models for embedding_dim dimensions', async () => {
    const result = await embedTexts(clients, { ...config, embedding_model: 'text-embedding-3-small', embedding_dim: 48 }, ['one', 'two']);
    assert.deepEqual(result.vectors.map((v) => v.length), [48, 48]);
    assert.equal(embeddingRequests(server)[0]?.dimensions, 48);
  });

  test('vectors of another dimension than embedding_dim: a ConfigError naming both, not retried', async () => {
    const error = await rejectsWithEmbeddingError(embedTexts(clients, { ...config, embedding_dim: 1536 }, ['hello']));
    assert.equal(error.type, 'ConfigError');
    assert.equal(error.retryable, false);
    assert.match(error.message, /returned 16-dimensional vectors, but embedding_config\.embedding_dim is 1536/);
    assert.match(error.message, /--embedding-dim 16/);
  });

  test('an endpoint that is down: a retryable Connection error naming it', async () => {
    const port = await freePort();
    const down = `http://127.0.0.1:${port}/v1`;
    const error = await rejectsWithEmbeddingError(embedTexts(clients, { ...config, embedding_endpoint: down }, ['hello'], { maxRetries: 0 }));
    assert.equal(error.type, 'Connection');
    assert.equal(error.retryable, true);
    assert.match(error.message, new RegExp(`embedding with scripted-embedding failed: cannot reach the model endpoint ${down}: ECONNREFUSED`));
  });

  test('the SDK retries a rate limit (honouring retry-after-ms); what still fails is classified', async () => {
    server.failEmbeddings({ kind: 'error', status: 429, retryAfterMs: 10 });
    const result = await embedTexts(clients, config, ['retried']);
    assert.equal(result.vectors.length, 1);
    assert.equal(embeddingRequests(server).length, 2, 'one 429, then the retry');

    server.reset();
    server.failEmbeddings(...Array.from({ length: 3 }, () => ({ kind: 'error' as const, status: 503, retryAfterMs: 10 })));
    const unavailable = await rejectsWithEmbeddingError(embedTexts(clients, config, ['down'], { maxRetries: 2 }));
    assert.equal(unavailable.type, 'Upstream5xx');
    assert.equal(unavailable.retryable, true);
    assert.equal(unavailable.status, 503);
    assert.equal(embeddingRequests(server).length, 3, 'the first attempt and 2 retries');
  });

  test('a refused key and a bad request fail at once, never retried, the key never shown', async () => {
    const wrong = new ModelClients({ defaultBaseUrl: undefined, apiKey: 'sk-wrong-secret' });
    const auth = await rejectsWithEmbeddingError(embedTexts(wrong, config, ['hello']));
    assert.equal(auth.type, 'AuthFailed');
    assert.equal(auth.retryable, false);
    assert.doesNotMatch(auth.message, /sk-wrong-secret/);
    assert.equal(embeddingRequests(server).length, 1);

    server.reset();
    server.failEmbeddings({ kind: 'error', status: 400, message: 'litellm.BadRequestError: input is too long' });
    const bad = await rejectsWithEmbeddingError(embedTexts(clients, config, ['hello']));
    assert.equal(bad.type, 'BadRequest');
    assert.equal(bad.retryable, false);
    assert.match(bad.message, /returned 400: litellm\.BadRequestError: input is too long/);
    assert.equal(embeddingRequests(server).length, 1);
  });

  test('an empty text is a ValidationError naming it, before any request; no endpoint is a ConfigError', async () => {
    await assert.rejects(embedTexts(clients, config, ['fine', '  ']), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.deepEqual(error.issues.map((i) => i.path), ['texts.1']);
      return true;
    });
    assert.equal(embeddingRequests(server).length, 0);

    const { embedding_endpoint: _, ...noEndpoint } = config;
    const error = await rejectsWithEmbeddingError(embedTexts(clients, noEndpoint, ['hello']));
    assert.equal(error.type, 'ConfigError');
    assert.match(error.message, /no embedding endpoint: set embedding_config\.embedding_endpoint .* or LLM_BASE_URL on the worker/);
    assert.deepEqual((await embedTexts(clients, config, [])).vectors, []);
  });

  test("a model group of the models file: its deployments in order, past one that is down", async () => {
    const down = `http://127.0.0.1:${await freePort()}/v1`;
    const yaml = `
model_list:
  - model_name: embedder
    litellm_params: { model: openai/scripted-embedding, api_base: ${down}, api_key: os.environ/EMBED_KEY }
  - model_name: embedder
    litellm_params: { model: openai/scripted-embedding, api_base: ${server.url}, api_key: os.environ/EMBED_KEY }
`;
    const { config: models } = parseModelsConfig(yaml, 'config.yaml');
    const routed = new ModelClients({ defaultBaseUrl: undefined, apiKey: undefined, models: { config: models, keys: resolveDeploymentKeys(models, { EMBED_KEY: KEY }) } });
    const { embedding_endpoint: _, ...groupConfig } = { ...config, embedding_model: 'embedder' };
    const result = await embedTexts(routed, groupConfig, ['one', 'two', 'three'], { maxInputsPerRequest: 1, maxRetries: 0 });
    assert.equal(result.vectors.length, 3);
    // the deployment's own model name was sent, with its key
    assert.deepEqual(embeddingRequests(server).map((r) => r.model), ['scripted-embedding', 'scripted-embedding', 'scripted-embedding']);
  });
});
