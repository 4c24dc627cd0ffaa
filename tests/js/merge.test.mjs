/** The merge rule on the phone (static/js/lib/merge.js) against the shared vectors. */
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {isLater} from '../../static/js/lib/merge.js';
import {vectors} from './vectors.mjs';

/** Each box's and each session's winner, merging `events` in the order given. */
function merge(events) {
  const ticks = new Map();
  const sessions = new Map();
  for (const event of events) {
    const [state, key] = 'session' in event ? [sessions, event.session] : [ticks, `${event.day}|${event.item}`];
    const current = state.get(key);
    if (!current || isLater(event, current)) state.set(key, event);
  }
  return {ticks, sessions};
}

function assertWinners(found, expected) {
  assert.deepEqual([...found.keys()].sort(), Object.keys(expected).sort());
  for (const [key, winner] of Object.entries(expected)) {
    const want = typeof winner === 'string' ? {id: winner} : winner;
    for (const [field, value] of Object.entries(want)) assert.equal(found.get(key)[field], value, `${key}.${field}`);
  }
}

for (const vector of vectors('merge')) {
  test(vector.name, () => {
    for (const events of [vector.events, [...vector.events].reverse()]) {
      const {ticks, sessions} = merge(events);
      assertWinners(ticks, vector.ticks);
      assertWinners(sessions, vector.sessions);
    }
  });
}
