/**
 * The memloom worker of `bench/agent-scale.ts`, in its own process so its memory can be read from
 * `/proc/<pid>/status`. Configured like any worker from the environment (TEMPORAL_ADDRESS,
 * DATABASE_URL, MEMLOOM_TASK_QUEUE, LLM_API_KEY), with a prebuilt workflow bundle as argv[2] and
 * an optional `maxCachedWorkflows` as argv[3].
 *
 * Over the IPC channel: sends a {@link ScaleWorkerReady} once it polls; answers every `'status'` message with a {@link ScaleWorkerStatus}.
 */
import { getHeapStatistics } from 'node:v8';
import { createLogger } from '../src/config/logger.ts';
import { createMemloomWorker } from '../workers/agent-worker.ts';

/** What the worker reports about itself when asked. */
export interface ScaleWorkerStatus {
  type: 'status';
  /** Workflow executions held in the worker's sticky cache right now. */
  numCachedWorkflows: number;
  heapUsedMiB: number;
  externalMiB: number;
}

/** The first message: the worker polls; its resolved workflow cache size. */
export interface ScaleWorkerReady {
  type: 'ready';
  maxCachedWorkflows: number;
  heapSizeLimitMiB: number;
}

const [bundlePath, cacheArg] = process.argv.slice(2);
if (!bundlePath) throw new Error('argv[2] (workflow bundle path) is required');
if (!process.send) throw new Error('scale-worker must be spawned with an IPC channel');
const send = process.send.bind(process);
const MiB = 1024 * 1024;

const memloom = await createMemloomWorker({
  logger: createLogger('silent'),
  workflowBundle: { codePath: bundlePath },
  ...(cacheArg ? { workerOptions: { maxCachedWorkflows: Number(cacheArg) } } : {}),
});
const running = memloom.run();
const { options } = memloom.worker;
send({
  type: 'ready',
  maxCachedWorkflows: options.maxCachedWorkflows,
  heapSizeLimitMiB: Math.round(getHeapStatistics().heap_size_limit / MiB),
} satisfies ScaleWorkerReady);

process.on('message', (message) => {
  if (message !== 'status') return;
  const memory = process.memoryUsage();
  send({
    type: 'status',
    numCachedWorkflows: memloom.worker.getStatus().numCachedWorkflows,
    heapUsedMiB: memory.heapUsed / MiB,
    externalMiB: memory.external / MiB,
  } satisfies ScaleWorkerStatus);
});
process.once('SIGTERM', () => void memloom.shutdown());
await running;
process.disconnect();
