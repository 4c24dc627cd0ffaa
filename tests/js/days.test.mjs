/** Day numbers on the phone (static/js/lib/days.js) against the shared vectors. */
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {dayNumber, localDay} from '../../static/js/lib/days.js';
import {vectors} from './vectors.mjs';

for (const vector of vectors('day_numbers')) {
  test(vector.name, () => {
    const now = new Date(vector.now);
    assert.equal(localDay(now, vector.tz, vector.start), vector.local_day);
    assert.equal(dayNumber(vector.session, now, vector.tz, vector.start), vector.day);
  });
}
