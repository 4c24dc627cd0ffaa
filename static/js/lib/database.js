/**
 * The phone's database, IndexedDB: its schema and the one connection this page uses.
 * Stores: plan (the current plan, with its schedule), ticks (latest event per
 * day and item), sessions (latest event per session of the series), outbox
 * (events not yet acknowledged by the server), meta (device id, credential, event
 * counter, sync cursor, settings).  Only the state owner (plan-state.js) and what it
 * hands the connection to read or write it.
 */
// idb is copied by `make setup` from the pinned npm package into a versioned
// folder; a test checks this path against package-lock.json.
import {openDB} from '../../vendor/idb-v8.0.4/index.js';
import {isSharedDevice, markSharedDevice} from './shared-device.js';

export const STORES = ['plan', 'ticks', 'sessions', 'outbox', 'meta'];

/** Create or bring up to date the stores of the database `name` (tests open their own). */
export function openPhoneDatabase(name = 'aftercare') {
  return openDB(name, 2, {
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
}

let opening = null;

/** This page's connection: IndexedDB, or session storage on a shared device. */
export function database() {
  opening ||= isSharedDevice() ? ephemeral() : openPhoneDatabase();
  return opening;
}

/** From now on, in this tab, keep everything in session storage only (see ephemeral-db.js). */
export function useSharedDeviceMode() {
  markSharedDevice();
  opening = ephemeral();
  return opening;
}

// Loaded only on a shared device: most phones never need it.
const ephemeral = () => import('./ephemeral-db.js').then((module) => module.openEphemeral());
