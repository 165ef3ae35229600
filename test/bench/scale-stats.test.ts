import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quantile, readProcCpuSeconds, readProcMemory, runBounded } from '../../bench/scale-stats.ts';

test('readProcMemory and readProcCpuSeconds read a live process and answers null for a gone one', { skip: process.platform !== 'linux' }, () => {
  const own = readProcMemory(process.pid);
  assert.ok(own);
  assert.ok(own.rssMiB > 1 && own.peakRssMiB >= own.rssMiB, JSON.stringify(own));
  assert.equal(readProcMemory(2 ** 22 + 1), null);
  assert.ok(readProcCpuSeconds(process.pid) > 0);
  assert.ok(Number.isNaN(readProcCpuSeconds(2 ** 22 + 1)));
});

test('runBounded keeps at most `concurrency` tasks in flight and records failures instead of throwing', async () => {
  let inFlight = 0;
  let most = 0;
  const done: number[] = [];
  const results = await runBounded(
    [1, 2, 3, 4, 5, 6, 7],
    3,
    async (i) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      if (i === 4) throw new Error('refused', { cause: new Error('8 RESOURCE_EXHAUSTED') });
      done.push(i);
    },
    () => undefined,
  );
  assert.equal(most, 3);
  assert.equal(results.length, 7);
  assert.deepEqual(done.sort(), [1, 2, 3, 5, 6, 7]);
  assert.deepEqual(
    results.flatMap((r) => (r.error ? [r.error] : [])),
    ['Error: refused <- Error: 8 RESOURCE_EXHAUSTED'],
  );
});

test('quantile is the nearest-rank value', () => {
  const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.equal(quantile(xs, 0.5), 51);
  assert.equal(quantile(xs, 0.99), 100);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});
