/**
 * The device's database, IndexedDB: the truth on this phone.
 * Stores: plan (the current plan, with its schedule), ticks (latest event per
 * day and item), outbox (events not yet acknowledged by the server), meta
 * (device id, event counter).
 */
import {openDB} from './idb.js';

let opening = null;

export function database() {
  opening ||= openDB('aftercare', 1, {
    upgrade(db) {
      db.createObjectStore('plan');
      db.createObjectStore('ticks', {keyPath: ['day', 'item']});
      db.createObjectStore('outbox', {keyPath: 'id'});
      db.createObjectStore('meta');
    },
  });
  return opening;
}

export async function loadPlan() {
  return (await database()).get('plan', 'current');
}

/** Save a new plan and this device's id in one transaction. */
export async function savePlan(plan, deviceId) {
  const tx = (await database()).transaction(['plan', 'meta'], 'readwrite');
  tx.objectStore('plan').put(plan, 'current');
  if (deviceId && !(await tx.objectStore('meta').get('device'))) {
    tx.objectStore('meta').put(deviceId, 'device');
  }
  await tx.done;
}

/** Latest tick events for every item on the days from `firstDay` to `lastDay`. */
export async function ticksBetween(firstDay, lastDay) {
  const range = IDBKeyRange.bound([firstDay, ''], [lastDay, '\uffff']);
  return (await database()).getAll('ticks', range);
}

/**
 * Record one tick: new state, outbox entry and counter in a single
 * transaction; resolves when IndexedDB has committed it.  The timestamp is
 * at least one past the previous edit of the same box, so the user's latest
 * tap wins the merge even if this phone's clock is behind another's.
 */
export async function recordTick(day, item, done) {
  const tx = (await database()).transaction(['ticks', 'outbox', 'meta'], 'readwrite');
  const meta = tx.objectStore('meta');
  const [device, last, previous] = await Promise.all([
    meta.get('device'),
    meta.get('counter'),
    tx.objectStore('ticks').get([day, item]),
  ]);
  const counter = (last || 0) + 1;
  const ts = Math.max(Date.now(), previous ? previous.ts + 1 : 0);
  const event = {id: crypto.randomUUID(), device, counter, ts, day, item, done};
  meta.put(counter, 'counter');
  tx.objectStore('ticks').put(event);
  tx.objectStore('outbox').put(event);
  await tx.done;
  return event;
}

export async function outboxSize() {
  return (await database()).count('outbox');
}
