/**
 * The device's database, IndexedDB: the truth on this phone.
 * Stores: plan (the current plan, with its schedule), ticks (latest event per
 * day and item), sessions (latest event per session of the series), outbox
 * (events not yet acknowledged by the server), meta (device id, event counter).
 */
// idb is copied by `make setup` from the pinned npm package into a versioned
// folder; a test checks this path against package-lock.json.
import {openDB} from '../../vendor/idb-v8.0.4/index.js';
import {isSharedDevice, markSharedDevice} from './shared-device.js';
import {clearSnapshot, rememberPlanHere} from './snapshot.js';

let opening = null;
const ALL = ['plan', 'ticks', 'sessions', 'outbox', 'meta'];

export function database() {
  opening ||= isSharedDevice() ? ephemeral() : openDB('aftercare', 2, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('plan');
        db.createObjectStore('ticks', {keyPath: ['day', 'item']});
        db.createObjectStore('outbox', {keyPath: 'id'});
        db.createObjectStore('meta');
      }
      if (oldVersion < 2) db.createObjectStore('sessions', {keyPath: 'session'});
    },
  });
  return opening;
}

/** From now on, in this tab, keep everything in session storage only (see ephemeral-db.js). */
export function useSharedDeviceMode() {
  markSharedDevice();
  opening = ephemeral();
  forgetCaches();
}

// Loaded only on a shared device: most phones never need it.
const ephemeral = () => import('./ephemeral-db.js').then((module) => module.openEphemeral());

export async function loadPlan() {
  const plan = await (await database()).get('plan', 'current');
  rememberPlanHere(Boolean(plan));
  return plan;
}

// Opening IndexedDB is the slowest step of opening the app offline: start it
// as soon as this module runs, not when Today first asks.
database();

/**
 * Start this phone on a plan: the plan, a fresh device id and credential,
 * and no ticks or outbox from any earlier plan, in one transaction.
 * `meta` may carry {registered, cursor} (a plan joined from another device).
 */
export async function startPlan(plan, device, meta = {}) {
  const tx = (await database()).transaction(ALL, 'readwrite');
  for (const name of ['ticks', 'sessions', 'outbox', 'meta']) tx.objectStore(name).clear();
  tx.objectStore('plan').put(plan, 'current');
  forgetCaches();
  const values = {device: device.id, credential: device.credential, counter: 0, cursor: 0, registered: false, ...meta};
  for (const [key, value] of Object.entries(values)) tx.objectStore('meta').put(value, key);
  await tx.done;
  rememberPlanHere(true);
}

export async function getMeta(key) {
  return (await database()).get('meta', key);
}

export async function setMeta(key, value) {
  await (await database()).put('meta', value, key);
}

/** Every event still waiting for the server, oldest first. */
export async function pendingEvents(limit) {
  const events = await (await database()).getAll('outbox');
  return events.sort((a, b) => a.counter - b.counter).slice(0, limit);
}

/** Remove the plan and everything with it from this phone. */
export async function eraseAll() {
  const tx = (await database()).transaction(ALL, 'readwrite');
  for (const name of ALL) tx.objectStore(name).clear();
  await tx.done;
  forgetCaches();
  rememberPlanHere(false);
}

/** Latest tick events for every item on the days from `firstDay` to `lastDay`. */
export async function ticksBetween(firstDay, lastDay) {
  // A session after today (set up ahead, or a clock behind) has no days yet.
  if (firstDay > lastDay) return [];
  const range = IDBKeyRange.bound([firstDay, ''], [lastDay, '\uffff']);
  const events = await (await database()).getAll('ticks', range);
  remember(events);
  return events;
}

// Kept in memory so that recording a tick needs no reads: a read before the
// write would wait for the next frame and push the commit past it.
let cachedDevice = null; // {id, counter}
const latestTs = new Map(); // "day|item" -> timestamp of the newest event known here

/** Drop what this module keeps beside IndexedDB, when the plan changes or goes. */
function forgetCaches() {
  cachedDevice = null;
  latestTs.clear();
  clearSnapshot();
}

async function deviceState() {
  if (!cachedDevice) {
    const db = await database();
    const [id, counter, clock] = await Promise.all(['device', 'counter', 'clock'].map((key) => db.get('meta', key)));
    cachedDevice = {id, counter: counter || 0, clock: clock || {offset: 0, server: 0}};
  }
  return cachedDevice;
}

/** The server's clock as the last sync learned it (lib/sync.js learnClock). */
export function useClock(clock) {
  if (cachedDevice) cachedDevice.clock = clock;
}

// This phone's clock, corrected by what it knows of the server's.
const now = ({clock}) => Math.max(Date.now() + clock.offset, clock.server);

/** Note the newest timestamp of each box in `events` (ticks from a sync, say). */
export function remember(events) {
  for (const event of events) {
    const key = `${event.day}|${event.item}`;
    latestTs.set(key, Math.max(latestTs.get(key) || 0, event.ts));
  }
}

/**
 * Record one tick: new state, outbox entry and counter in a single
 * write-only transaction; resolves when IndexedDB has committed it.  The
 * timestamp is this phone's clock corrected by the server's, and at least one
 * past the newest edit of the same box, so the latest tap wins the merge.
 * (Two tabs of the app could hand out the same counter; the event id still
 * keeps such events apart.)
 */
export async function recordTick(day, item, done) {
  const state = await deviceState();
  const db = await database();
  state.counter += 1;
  const ts = Math.max(now(state), (latestTs.get(`${day}|${item}`) || 0) + 1);
  const event = {id: crypto.randomUUID(), device: state.id, counter: state.counter, ts, day, item, done};
  remember([event]);
  const tx = db.transaction(['ticks', 'outbox', 'meta'], 'readwrite');
  tx.objectStore('meta').put(state.counter, 'counter');
  tx.objectStore('ticks').put(event);
  tx.objectStore('outbox').put(event);
  // Commit now rather than when the browser notices nothing more is queued.
  tx.commit?.();
  await tx.done;
  return event;
}

/** The latest event of every session this phone knows (series.buildSeries merges them with the plan). */
export async function sessionEvents() {
  return (await database()).getAll('sessions');
}

/**
 * Record one change to a session of the series ({session, day, time, status}),
 * like a tick: new state and outbox entry in one transaction.
 */
export async function recordSession(change) {
  const state = await deviceState();
  const tx = (await database()).transaction(['sessions', 'outbox', 'meta'], 'readwrite');
  const current = await tx.objectStore('sessions').get(change.session);
  state.counter += 1;
  const ts = Math.max(now(state), (current?.ts || 0) + 1);
  const event = {id: crypto.randomUUID(), device: state.id, counter: state.counter, ts, ...change};
  tx.objectStore('meta').put(state.counter, 'counter');
  // This phone's own clock, not the corrected one: Today compares it with the phone's hour.
  if (change.status === 'done') tx.objectStore('meta').put(Date.now(), 'sessionLoggedAt');
  tx.objectStore('sessions').put(event);
  tx.objectStore('outbox').put(event);
  await tx.done;
  return event;
}

export async function outboxSize() {
  return (await database()).count('outbox');
}
