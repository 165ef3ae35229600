import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calibrationSample, messageBudget, nextCalibration, selectContext, TOKEN_CALIBRATION, type ContextCandidate } from '../../src/domain/context-window.ts';

let n = 0;
const user = (tokens = 10): ContextCandidate => ({ id: `u${++n}`, role: 'user', toolCalls: null, toolCallId: null, tokens });
const reply = (tokens = 10): ContextCandidate => ({ id: `a${++n}`, role: 'assistant', toolCalls: null, toolCallId: null, tokens });
const call = (...ids: string[]): ContextCandidate => ({ id: `c${++n}`, role: 'assistant', toolCalls: ids.map((id) => ({ id })), toolCallId: null, tokens: 10 });
const ret = (id: string): ContextCandidate => ({ id: `r${++n}`, role: 'tool', toolCalls: null, toolCallId: id, tokens: 10 });

/** selectContext takes newest first and returns oldest first. */
const pick = (oldestFirst: ContextCandidate[], budget: number) => selectContext([...oldestFirst].reverse(), budget).map((m) => m.id);

test('keeps the newest messages that fit, oldest first', () => {
  const h = [user(), reply(), user(), reply()];
  assert.deepEqual(pick(h, 1000), h.map((m) => m.id));
  assert.deepEqual(pick(h, 20), h.slice(2).map((m) => m.id));
});

test('a tool call and its returns are kept or dropped together', () => {
  const u = user();
  const c = call('x', 'y');
  const rx = ret('x');
  const ry = ret('y');
  const a = reply();
  assert.deepEqual(pick([u, c, rx, ry, a], 1000), [u, c, rx, ry, a].map((m) => m.id));
  // 45 tokens hold the reply and the 30-token call group, not the user message before them
  assert.deepEqual(pick([u, c, rx, ry, a], 45), [c, rx, ry, a].map((m) => m.id));
  assert.deepEqual(pick([u, c, rx, ry, a], 35), [a.id]);
});

test('a dangling call from a failed turn never reaches the model, nor an orphan return', () => {
  const u1 = user();
  const dangling = call('lost');
  const u2 = user();
  const partial = call('p', 'q');
  const rp = ret('p');
  const u3 = user();
  assert.deepEqual(pick([u1, dangling, u2, partial, rp, u3], 1000), [u1.id, u2.id, u3.id]);
  // the window starts in the middle of a group: the return whose call is outside is dropped
  const c = call('z');
  const rz = ret('z');
  const u4 = user();
  assert.deepEqual(pick([rz, u4], 1000), [u4.id]);
  assert.deepEqual(pick([c, rz, u4], 1000), [c.id, rz.id, u4.id]);
});

test('the newest group is sent even over budget, so the model can report the overflow', () => {
  const big = user(10_000);
  assert.deepEqual(pick([user(), big], 100), [big.id]);
});

test('the budget reserves the system prompt, tool schemas and the reply', () => {
  assert.equal(messageBudget({ contextWindow: 8192, systemTokens: 1000, toolTokens: 500 }), 8192 - 1000 - 500 - 1024);
  assert.equal(messageBudget({ contextWindow: 8192, systemTokens: 1000, toolTokens: 500, maxOutputTokens: 200 }), 6492);
  assert.equal(messageBudget({ contextWindow: 1000, systemTokens: 5000, toolTokens: 0 }), 0);
});

test('a calibrated budget: the window the endpoint counts, in counted tokens', () => {
  // the endpoint counts 1.5 tokens for each counted one: 7168 of its tokens are 4778 counted
  assert.equal(messageBudget({ contextWindow: 8192, systemTokens: 1000, toolTokens: 500, calibration: 1.5 }), 4778 - 1000 - 500);
  assert.equal(messageBudget({ contextWindow: 8192, systemTokens: 1000, toolTokens: 500, calibration: 0.5 }), 14336 - 1500);
  assert.equal(messageBudget({ contextWindow: 8192, systemTokens: 1000, toolTokens: 500, calibration: 1 }), messageBudget({ contextWindow: 8192, systemTokens: 1000, toolTokens: 500 }));
});

test('calibration: a moving average of reported per counted tokens, within bounds', () => {
  assert.equal(calibrationSample(1000, 1500), 1.5);
  // reports far off are taken as the bound, not believed
  assert.equal(calibrationSample(1000, 10_000), TOKEN_CALIBRATION.max);
  assert.equal(calibrationSample(1000, 100), TOKEN_CALIBRATION.min);
  // no usage, or zeros, teach nothing
  assert.equal(calibrationSample(1000, null), null);
  assert.equal(calibrationSample(1000, undefined), null);
  assert.equal(calibrationSample(1000, 0), null);
  assert.equal(calibrationSample(0, 1000), null);

  // the first report is taken whole; later ones move the average by 30 %
  assert.equal(nextCalibration(null, 1.5), 1.5);
  let ratio = 1;
  const seen: number[] = [];
  for (let call = 0; call < 10; call++) seen.push((ratio = nextCalibration(ratio, 1.5)));
  assert.ok(seen.every((r, i) => r > (seen[i - 1] ?? 1) && r < 1.5), 'rises steadily toward 1.5');
  assert.ok(Math.abs(seen[2]! - 1.5) < 0.2 && Math.abs(seen[9]! - 1.5) < 0.02);
});
