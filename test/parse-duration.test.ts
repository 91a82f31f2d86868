// shared/parse-duration.ts: the one reading of `250ms`, `5s`, `2m`, `1h` every time option uses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from '../shared/parse-duration.ts';

const PARSED: ReadonlyArray<[text: string, bareUnit: 'ms' | 's', ms: number | undefined]> = [
  ['250ms', 's', 250],
  ['5s', 'ms', 5_000],
  ['1.5s', 'ms', 1_500],
  ['.5s', 'ms', 500],
  ['2m', 'ms', 120_000],
  ['1h', 'ms', 3_600_000],
  ['2H', 'ms', 7_200_000],
  [' 3 s ', 'ms', 3_000],
  ['250', 'ms', 250],
  ['60', 's', 60_000],
  ['0', 's', 0],
  ['0.0004s', 'ms', 0],
  ['5 sec', 's', undefined],
  ['2d', 's', undefined],
  ['-1', 's', undefined],
  ['+1s', 's', undefined],
  ['1e3', 'ms', undefined],
  ['s', 's', undefined],
  ['', 's', undefined],
  ['1.s', 's', undefined],
];

test('parseDuration', async (t) => {
  await t.test('reads ms, s, m and h, and a bare number in the unit it is given', () => {
    for (const [text, bareUnit, ms] of PARSED)
      assert.equal(parseDuration(text, bareUnit), ms, `${JSON.stringify(text)} (bare ${bareUnit})`);
  });

  await t.test('formatDuration writes the shortest exact spelling, which parses back', () => {
    for (const [ms, text] of [
      [0, '0ms'],
      [250, '250ms'],
      [1_500, '1.5s'],
      [5_000, '5s'],
      [60_000, '1m'],
      [90_000, '90s'],
      [3_600_000, '1h'],
      [86_400_000, '24h'],
    ] as const) {
      assert.equal(formatDuration(ms), text);
      assert.equal(parseDuration(text, 's'), ms);
    }
  });
});
