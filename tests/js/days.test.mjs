/** Day numbers on the phone (static/js/lib/days.js) against the shared vectors. */
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {addDays, dayNumber, instantAt, localDay} from '../../static/js/lib/days.js';
import {vectors} from './vectors.mjs';

for (const vector of vectors('day_numbers')) {
  test(vector.name, () => {
    const now = new Date(vector.now);
    assert.equal(localDay(now, vector.tz, vector.start), vector.local_day);
    assert.equal(dayNumber(vector.session, now, vector.tz, vector.start), vector.day);
  });
}

test('instantAt: the day a plan day starts at, in each vector zone, across DST changes', () => {
  const zones = [...new Set(vectors('day_numbers').map((c) => c.tz))];
  const days = ['2026-03-08', '2026-03-29', '2026-04-05', '2026-10-04', '2026-10-25', '2026-11-01', '2026-12-06'];
  for (const tz of zones) {
    for (const day of days) {
      for (const hour of [0, 3, 4, 17]) {
        const at = instantAt(day, hour, tz);
        assert.equal(localDay(new Date(at), tz, hour), day, `${day} ${hour}:00 ${tz}`);
        assert.equal(localDay(new Date(at - 60_000), tz, hour), addDays(day, -1), `a minute before ${day} ${hour}:00 ${tz}`);
      }
    }
  }
});
