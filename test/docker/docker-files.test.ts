/**
 * docker-compose.yml and the Dockerfile cannot run here (no Docker engine); these checks keep
 * them true to the repo and to the README. `.ci/run` also parses the compose file with
 * `docker-compose config -q`.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parse } from 'yaml';
import { parseModelsConfig } from '../../src/config/models-file.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string): string => readFileSync(`${root}${path}`, 'utf8');
const dockerfile = read('Dockerfile');
const readme = read('README.md');
const compose = read('docker-compose.yml');

/** The instructions of the Dockerfile, continuation lines joined. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [op = '', ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

test("the Dockerfile's build steps are the README's", () => {
  const steps = instructions(dockerfile);
  const section = readme.slice(readme.indexOf('## Run with Docker'));
  assert.ok(section.length > 0, 'README has a "Run with Docker" section');
  const runs = steps.filter((s) => s.op === 'RUN').map((s) => s.args);
  assert.ok(runs.length > 0);
  for (const run of runs) assert.ok(section.includes(run), `README's Docker section lacks the build step: ${run}`);
  const entry = JSON.parse(steps.find((s) => s.op === 'ENTRYPOINT')!.args) as string[];
  const cmd = JSON.parse(steps.find((s) => s.op === 'CMD')!.args) as string[];
  assert.ok(section.includes([...entry, ...cmd].join(' ')), `README's Docker section lacks: ${[...entry, ...cmd].join(' ')}`);
  const from = steps.find((s) => s.op === 'FROM')!.args;
  assert.ok(section.includes(from), `README's Docker section lacks the base image ${from}`);
  for (const copy of steps.filter((s) => s.op === 'COPY')) {
    for (const source of copy.args.split(/\s+/).slice(0, -1)) assert.ok(existsSync(`${root}${source}`), `COPY ${source}: no such path`);
  }
});

test('docker-compose.yml wires the services of the production shape', () => {
  for (const service of ['postgres', 'temporal', 'temporal-ui', 'litellm', 'migrate', 'worker', 'memloom-api']) {
    assert.match(compose, new RegExp(`^  ${service}:$`, 'm'), `service ${service} is missing`);
  }
  assert.match(compose, /image: pgvector\/pgvector:/);
  assert.match(compose, /DB: postgres12/, 'temporal persists to Postgres');
  assert.match(compose, /LITELLM_MASTER_KEY: \$\{LITELLM_MASTER_KEY:\?/, 'the master key comes from the environment');
  assert.match(compose, /LLM_API_KEY: \$\{LITELLM_MASTER_KEY:\?/, 'the worker authenticates to the proxy with it');
  assert.match(compose, /command: \["migrate"\]/, 'migrations and search attributes are applied before workers start');
  for (const name of ['TEMPORAL_ADDRESS', 'DATABASE_URL', 'LLM_BASE_URL', 'MEMLOOM_TASK_QUEUE', 'MEMLOOM_MODELS']) {
    assert.ok(readme.includes(name), `README documents ${name}`);
  }
});

interface Service {
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

const services = (): Record<string, Service> => (parse(compose, { merge: true }) as { services: Record<string, Service> }).services;

test('one config.yaml is mounted into the proxy and the workers, and both can read it', () => {
  const proxy = services()['litellm']!;
  const worker = services()['worker']!;
  const mount = './docker/config.yaml:/app/config.yaml:ro';
  assert.ok(proxy.volumes?.includes(mount), 'the proxy mounts docker/config.yaml');
  assert.ok(worker.volumes?.includes(mount), 'the workers mount docker/config.yaml');
  assert.deepEqual(proxy.command?.slice(0, 2), ['--config', '/app/config.yaml']);
  // the default: memloom routes; MEMLOOM_MODELS set and empty sends every call to the proxy
  assert.equal(worker.environment?.['MEMLOOM_MODELS'], '${MEMLOOM_MODELS-/app/config.yaml}');
  assert.equal(worker.environment?.['LLM_BASE_URL'], 'http://litellm:4000');

  const models = parseModelsConfig(read('docker/config.yaml'), 'docker/config.yaml');
  assert.ok(models.config.groups.length > 0);
  assert.deepEqual(models.literalKeys, [], 'keys are os.environ/ references, not written in the file');
  // every key the file names reaches both containers that read it
  const keyVars = new Set(models.config.groups.flatMap((g) => g.deployments.flatMap((d) => (d.apiKey && 'env' in d.apiKey ? [d.apiKey.env] : []))));
  assert.ok(keyVars.size > 0);
  for (const name of keyVars) {
    assert.ok(proxy.environment?.[name] !== undefined, `the proxy gets ${name}`);
    assert.ok(worker.environment?.[name] !== undefined, `the workers get ${name}`);
  }
  assert.match(read('docker/config.yaml'), /master_key: os\.environ\/LITELLM_MASTER_KEY/);
});

test('the README explains the two ways to run and the proxy as a plain gateway', () => {
  const docker = readme.slice(readme.indexOf('## Run with Docker'), readme.indexOf('\n## ', readme.indexOf('## Run with Docker') + 1));
  assert.ok(docker.includes('docker/config.yaml'), 'the Docker section names the shared models file');
  assert.ok(docker.includes('MEMLOOM_MODELS= docker compose up -d'), 'the Docker section shows how to run over the proxy');
  const proxy = readme.slice(readme.indexOf('## Use your LiteLLM proxy'), readme.indexOf('## Run with Docker'));
  assert.match(proxy, /plain gateway: `num_retries: 0` and no\s+`fallbacks`/);
  assert.match(proxy, /6 × 3 = 18 upstream calls/);
});

test("memloom-api serves Letta's REST API beyond loopback, with a required key, on the workers' stack", () => {
  const all = services();
  const api = all['memloom-api']!;
  const worker = all['worker']!;
  assert.deepEqual(api.command?.slice(0, 3), ['serve', '--host', '0.0.0.0']);
  assert.equal(api.environment?.['MEMLOOM_API_KEY'], '${MEMLOOM_API_KEY:?set MEMLOOM_API_KEY}', 'no key, no start: it listens beyond loopback');
  assert.ok(api.ports?.includes('8283:8283'), "Letta's port is published");
  // the turns it starts must reach the workers, over the same database and the same models file
  for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'MEMLOOM_TASK_QUEUE', 'DATABASE_URL', 'MEMLOOM_MODELS', 'LLM_BASE_URL', 'OPENAI_API_KEY']) {
    assert.equal(api.environment?.[name], worker.environment?.[name], `memloom-api and the workers agree on ${name}`);
  }
  assert.ok(api.volumes?.includes('./docker/config.yaml:/app/config.yaml:ro'));
  assert.deepEqual(api.depends_on?.['migrate'], { condition: 'service_completed_successfully' }, 'it starts on migrated tables, as the workers do');
  const health = api.healthcheck?.test.join(' ') ?? '';
  assert.match(health, /http:\/\/127\.0\.0\.1:8283\/v1\/health\//);
  assert.match(health, /Bearer ' \+ process\.env\.MEMLOOM_API_KEY/, 'the health check sends the key every request needs');
});

test("CI's parse of docker-compose.yml sets every variable the file requires", () => {
  const required = [...new Set([...compose.matchAll(/\$\{(\w+):\?/g)].map((m) => m[1]!))];
  assert.deepEqual(required.sort(), ['LITELLM_MASTER_KEY', 'MEMLOOM_API_KEY']);
  const parseLine = read('.ci/run').split('\n').find((l) => l.includes('docker-compose -f docker-compose.yml config'));
  assert.ok(parseLine, '.ci/run parses the compose file');
  for (const name of required) assert.match(parseLine, new RegExp(`\\b${name}=`), `.ci/run sets ${name} for the parse`);
  const docker = readme.slice(readme.indexOf('## Run with Docker'), readme.indexOf('\n## ', readme.indexOf('## Run with Docker') + 1));
  for (const name of required) assert.ok(docker.includes(`${name}=`), `the README's Docker section sets ${name}`);
  assert.ok(docker.includes('http://localhost:8283'), "the README's Docker section gives the API's URL");
});
