/**
 * Storing a sync's answer in the database, in one transaction: acknowledged events leave
 * the outbox, events the server set aside are kept with its reason, and of each remote
 * event and what this phone holds the later wins (merge.js).  Only the state owner
 * (plan-state.js) calls it, and brings its memory in step with what this returns.
 */
import {isLater} from './merge.js';

// The console's device id (pwa/sync/devices.py CLINIC_DEVICE): its edits are the clinic's.
const CLINIC_DEVICE = 'clinic-console';
const MAX_CLINIC_NOTICES = 10;
const MAX_SET_ASIDE = 20;

const keyOf = (event) => ('session' in event ? `session|${event.session}` : `${event.day}|${event.item}`);

/**
 * @param {object} answer {acknowledged: ids, events: remote events, cursor, setAside: [{id,
 *   message}], clock: {offset, server} or null}
 * @returns {Promise<{stored: {event: object, own: boolean}[], changed: number, removed: number,
 *   meta: object}>} the events written (`own`: this phone's, back from the server), how many
 *   ticks or sessions another device changed, how many outbox entries went, the meta written
 */
export async function storeAnswer(db, {acknowledged, events, cursor, setAside = [], clock = null}) {
  const tx = db.transaction(['ticks', 'sessions', 'outbox', 'meta'], 'readwrite');
  const outbox = tx.objectStore('outbox');
  const metaStore = tx.objectStore('meta');
  let removed = 0;
  // Set aside by the server (say a date typed years wrong): kept here with the reason,
  // never sent again; a later change to the same session or box that is stored clears it.
  let aside = (await metaStore.get('setAside')) || [];
  for (const {id, message} of setAside) {
    const event = await outbox.get(id);
    if (event) {
      aside.push({event, message});
      removed += 1;
    }
    outbox.delete(id);
  }
  for (const id of acknowledged) {
    const event = await outbox.get(id);
    if (event) {
      aside = aside.filter((entry) => keyOf(entry.event) !== keyOf(event));
      removed += 1;
    }
    outbox.delete(id);
  }
  // A phone's first sync brings the clinic's earlier edits too: news only after that.
  const hadSynced = Boolean(await metaStore.get('lastSync'));
  const fromClinic = [];
  const stored = [];
  let changed = 0;
  for (const event of events) {
    const store = tx.objectStore('session' in event ? 'sessions' : 'ticks');
    const current = await store.get('session' in event ? event.session : [event.day, event.item]);
    // The server's copy of our own event wins too: it may have clamped a clock that ran ahead.
    const own = current?.id === event.id;
    if (current && !own && !isLater(event, current)) continue;
    store.put(event);
    stored.push({event, own});
    if (own) continue;
    changed += 1;
    if (hadSynced && event.device === CLINIC_DEVICE && 'session' in event) {
      fromClinic.push({before: current || null, after: event});
    }
  }
  const meta = {setAside: aside.slice(-MAX_SET_ASIDE), cursor, lastSync: Date.now()};
  if (clock) meta.clock = clock;
  if (fromClinic.length) {
    // Said once on Today or Sessions (components/clinic-notices.js), which empties it.
    const waiting = (await metaStore.get('clinicChanges')) || [];
    meta.clinicChanges = [...waiting, ...fromClinic].slice(-MAX_CLINIC_NOTICES);
  }
  for (const [key, value] of Object.entries(meta)) metaStore.put(value, key);
  await tx.done;
  return {stored, changed, removed, meta};
}
