/**
 * The phone's state owner (static/js/lib/plan-state.js) over a real IndexedDB
 * implementation in Node (fake-indexeddb, from the front-end packages): what it tells
 * its subscribers, and that memory and the database agree after every change.
 */
import '../../service_worker/node_modules/fake-indexeddb/auto/index.mjs';

import assert from 'node:assert/strict';
import {beforeEach, test} from 'node:test';

import {openPhoneDatabase} from '../../static/js/lib/database.js';
import {PlanState} from '../../static/js/lib/plan-state.js';

const PLAN = {planId: 'plan-1', timeZone: 'Europe/London', dayStartHour: 4, sessions: [{day: '2026-12-01', number: 1}]};
const DEVICE = {id: 'this-phone', credential: 'secret'};

let names = 0;
let open;

/** A fresh database for each test, and an owner of it with a plan started. */
beforeEach(() => {
  const name = `phone-${(names += 1)}`;
  open = () => openPhoneDatabase(name);
});

async function owner() {
  const state = await new PlanState(open).load();
  if (!state.plan) await state.startPlan(PLAN, DEVICE, {registered: true});
  return state;
}

/** What a second page opening the same database would load. */
const reloaded = () => new PlanState(open).load();

function listen(state) {
  const told = [];
  state.subscribe((change) => told.push(change));
  return told;
}

const remoteTick = (day, item, done, ts) => ({id: `r-${day}-${item}-${ts}`, device: 'other-phone', counter: 1, ts, day, item, done});

test('loads once: every caller gets the same owner, read from the database', async () => {
  const state = await owner();
  await state.recordTick('2026-12-02', 'spf', true);
  const again = new PlanState(open);
  const [first, second] = await Promise.all([again.load(), again.load()]);
  assert.equal(first, second);
  assert.equal(first.plan.planId, 'plan-1');
  assert.equal(first.isDone('2026-12-02', 'spf'), true);
  assert.equal(first.outboxSize, 1);
  assert.equal(first.meta('device'), 'this-phone');
});

test('a tick of her own is told once, as local, and is in the database and the outbox', async () => {
  const state = await owner();
  const told = listen(state);
  const first = await state.recordTick('2026-12-02', 'spf', true);
  const second = await state.recordTick('2026-12-02', 'spf', false);
  assert.deepEqual(told, [
    {plan: false, ticks: true, sessions: false, local: true},
    {plan: false, ticks: true, sessions: false, local: true},
  ]);
  assert.ok(second.ts > first.ts, 'a later tap of the same box is stamped later');
  assert.equal(second.counter, first.counter + 1);
  const other = await reloaded();
  assert.equal(other.isDone('2026-12-02', 'spf'), false);
  assert.equal(other.outboxSize, 2);
  assert.deepEqual(
    (await other.pendingEvents(10)).map((event) => event.id),
    [first.id, second.id],
  );
});

test('her own events coming back from the server are not changes', async () => {
  const state = await owner();
  const tick = await state.recordTick('2026-12-02', 'spf', true);
  const session = await state.recordSession({session: 's2', day: '2027-01-05', time: null, status: 'planned'});
  const told = listen(state);
  const changed = await state.applyAnswer({acknowledged: [tick.id, session.id], events: [tick, session], cursor: 2});
  assert.equal(changed, 0);
  assert.deepEqual(told, []);
  assert.equal(state.outboxSize, 0);
  assert.equal(state.meta('cursor'), 2);
  assert.equal((await reloaded()).outboxSize, 0);
});

test('a remote change is told once, however many events it brings', async () => {
  const state = await owner();
  const told = listen(state);
  const events = [
    remoteTick('2026-12-02', 'spf', true, 1000),
    remoteTick('2026-12-02', 'cleanse', true, 1001),
    {id: 'r-s2', device: 'clinic-console', counter: 1, ts: 1002, session: 's2', day: '2027-01-05', time: '10:00', status: 'planned'},
  ];
  const changed = await state.applyAnswer({acknowledged: [], events, cursor: 3});
  assert.equal(changed, 3);
  assert.deepEqual(told, [{plan: false, ticks: true, sessions: true, local: false}]);
  assert.equal(state.isDone('2026-12-02', 'cleanse'), true);
  assert.deepEqual(state.sessionEvents().map((event) => event.session), ['s2']);
  // The plan's first sync brings the clinic's earlier edits: not news.
  assert.equal(state.meta('clinicChanges'), undefined);
  const again = await state.applyAnswer({acknowledged: [], events, cursor: 3});
  assert.equal(again, 0, 'the same answer twice changes nothing');
  assert.equal(told.length, 1);
});

test("the clinic's session edits after the first sync are kept to be said", async () => {
  const state = await owner();
  await state.applyAnswer({acknowledged: [], events: [], cursor: 0});
  const moved = {id: 'c1', device: 'clinic-console', counter: 1, ts: 5, session: 's2', day: '2027-01-09', time: null, status: 'planned'};
  await state.applyAnswer({acknowledged: [], events: [moved], cursor: 1});
  assert.deepEqual(state.meta('clinicChanges'), [{before: null, after: moved}]);
  assert.deepEqual((await reloaded()).meta('clinicChanges'), [{before: null, after: moved}]);
});

test('an older remote event loses to her newer tick, and nothing is told', async () => {
  const state = await owner();
  const mine = await state.recordTick('2026-12-02', 'spf', true);
  const told = listen(state);
  const changed = await state.applyAnswer({acknowledged: [], events: [remoteTick('2026-12-02', 'spf', false, mine.ts - 1)], cursor: 1});
  assert.equal(changed, 0);
  assert.deepEqual(told, []);
  assert.equal(state.isDone('2026-12-02', 'spf'), true);
  assert.equal((await reloaded()).isDone('2026-12-02', 'spf'), true);
});

test('a tap while an answer is being stored is not hidden by it, in memory or on disk', async () => {
  const state = await owner();
  const later = Date.now() + 60_000; // another phone's clock, a minute ahead
  const storing = state.applyAnswer({acknowledged: [], events: [remoteTick('2026-12-02', 'spf', true, later)], cursor: 1});
  const tapping = state.recordTick('2026-12-02', 'spf', false);
  await Promise.all([storing, tapping]);
  const other = await reloaded();
  assert.equal(other.isDone('2026-12-02', 'spf'), false, 'the tap was written after the answer');
  assert.equal(state.isDone('2026-12-02', 'spf'), other.isDone('2026-12-02', 'spf'));
});

test('starting a plan replaces everything, and is told as a new plan', async () => {
  const state = await owner();
  await state.recordTick('2026-12-02', 'spf', true);
  const told = listen(state);
  const restored = {ticks: [remoteTick('2026-11-01', 'spf', true, 9)], sessions: [], outbox: [], counter: 4};
  await state.startPlan({...PLAN, planId: 'plan-2'}, {id: 'new-phone', credential: 'c'}, {}, restored);
  assert.deepEqual(told, [{plan: true, ticks: true, sessions: true, local: true}]);
  assert.equal(state.isDone('2026-12-02', 'spf'), undefined);
  assert.equal(state.isDone('2026-11-01', 'spf'), true);
  assert.equal(state.outboxSize, 0);
  const next = await state.recordTick('2026-12-03', 'spf', true);
  assert.equal(next.counter, 5, 'the counter goes on from the restored one');
  assert.equal(next.device, 'new-phone');
  const other = await reloaded();
  assert.equal(other.plan.planId, 'plan-2');
  assert.equal(other.meta('registered'), false);
});

test('erasing leaves nothing, in memory or on disk', async () => {
  const state = await owner();
  await state.recordTick('2026-12-02', 'spf', true);
  const told = listen(state);
  await state.erase();
  assert.equal(told.length, 1);
  assert.equal(state.plan, null);
  assert.deepEqual(state.ticksBetween('2000-01-01', '2999-01-01'), []);
  const other = await reloaded();
  assert.equal(other.plan, null);
  assert.equal(other.outboxSize, 0);
});

test('a subscriber that stopped listening is told nothing more', async () => {
  const state = await owner();
  const told = [];
  const stop = state.subscribe((change) => told.push(change));
  await state.recordTick('2026-12-02', 'spf', true);
  stop();
  await state.recordTick('2026-12-02', 'spf', false);
  assert.equal(told.length, 1);
});

test('a tick the database refuses is kept nowhere, and the error reaches the caller', async () => {
  const state = await owner();
  const told = listen(state);
  // No item: not a valid key for the ticks store, so IndexedDB refuses the write.
  await assert.rejects(state.recordTick('2026-12-02', undefined, true), {name: 'DataError'});
  assert.equal(state.isDone('2026-12-02', undefined), undefined);
  assert.equal(state.outboxSize, 0);
  assert.deepEqual(told, []);
  assert.equal((await reloaded()).outboxSize, 0);
});
