/** The series on the phone (static/js/lib/series.js) against the shared vectors. */
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {buildSeries} from '../../static/js/lib/series.js';
import {vectors} from './vectors.mjs';

/** The plan as the phone keeps it, from the API's shape (lib/sync.js planFromServer). */
const onPhone = (wire) => ({
  sessions: wire.sessions,
  nextSession: wire.next_session ?? null,
  plannedSessions: wire.planned_sessions,
  ...(wire.starts_planned ? {startsPlanned: true} : {}),
});

for (const vector of vectors('series')) {
  test(vector.name, () => {
    assert.deepEqual(buildSeries(onPhone(vector.plan), vector.events), vector.series);
    // The events' order in storage does not matter.
    assert.deepEqual(buildSeries(onPhone(vector.plan), [...vector.events].reverse()), vector.series);
  });
}
