// The hand-built stored line of an event is exactly JSON.stringify of the event, field order
// included, for every shape validation lets through.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentEvent } from '../shared/types.ts';
import { eventRecord } from '../server/event-record.ts';

test('eventRecord', async (t) => {
  const base: AgentEvent = {
    id: '00000000-0001-8abc-9def-0123456789ab',
    seq: 1,
    runId: 'run-1',
    ts: '2024-05-01T12:00:00.000Z',
    type: 'task.progress',
    level: 'info',
    payload: {},
  };
  const cases: Array<[string, AgentEvent]> = [
    ['a bare event', base],
    ['agent and task ids', { ...base, agentId: 'agent "one"', taskId: 't\n1' }],
    ['a producer id with quotes, backslashes and unicode', { ...base, id: 'a"b\\c\u2028é' }],
    ['an offset timestamp', { ...base, ts: '2024-05-01T12:00:00+02:00' }],
    ['every type character', { ...base, type: 'a.B_9:c/d-e' }],
    ['a nested payload', { ...base, level: 'error', payload: { a: [1, { b: null }], s: '<x>' } }],
    ['a run id with dots and colons', { ...base, runId: 'ci:build.42' }],
  ];
  // The store builds events in this key order; JSON.stringify follows insertion order.
  const ordered = (e: AgentEvent): AgentEvent => {
    const { id, seq, runId, ts, type, level, agentId, taskId, payload } = e;
    const event = { id, seq, runId, ts, type, level } as AgentEvent;
    if (agentId !== undefined) event.agentId = agentId;
    if (taskId !== undefined) event.taskId = taskId;
    event.payload = payload;
    return event;
  };
  for (const [name, given] of cases) {
    await t.test(name, () => {
      const event = ordered(given);
      assert.equal(eventRecord(event, JSON.stringify(event.runId)), JSON.stringify(event));
    });
  }
});
