/** The plan logic on the phone (static/js/lib/plan.js) against the shared vectors. */
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {test} from 'node:test';

import {dayPlan, modeFor} from '../../static/js/lib/plan.js';

const {schedule, modes, cases} = JSON.parse(readFileSync(new URL('../vectors/plan.json', import.meta.url), 'utf8'));

for (const {skin_type: skin, pih_history: history, mode} of modes) {
  test(`skin type ${skin}, PIH history ${history}: ${mode}`, () => {
    assert.equal(modeFor(schedule, skin, history), mode);
  });
}

for (const vector of cases) {
  test(vector.name, () => {
    const plan = {schedule, mode: vector.mode, ...(vector.setting ? {setting: vector.setting} : {})};
    const today = dayPlan(plan, vector.day);
    assert.deepEqual(today.items.map((item) => item.id), vector.items);
  });
}
