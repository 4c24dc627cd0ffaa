/**
 * Sync between this phone and the server.  The outbox in IndexedDB is
 * flushed on start, when the browser comes online, when the app comes back
 * to the foreground, after each tick, and on a backoff timer (the `online`
 * event fires before the network really works).  Each round registers the
 * plan if the server does not have it yet, sends waiting ticks in batches,
 * and takes in other devices' ticks and session edits.
 */
import {registerPlan, syncPlan} from './api.js';
import {isLater} from './merge.js';
import {modeFor} from './plan.js';
import {database, getMeta, loadPlan, pendingEvents, remember, setMeta, useClock} from './store.js';

const BATCH = 200;
// The console's device id (pwa/sync/devices.py CLINIC_DEVICE): its edits are the clinic's.
const CLINIC_DEVICE = 'clinic-console';
const MAX_CLINIC_NOTICES = 10;
const FIRST_RETRY_MS = 1000;
const LONGEST_RETRY_MS = 60 * 1000;
// While the app is open, look for other devices' ticks this often.
const POLL_MS = 30 * 1000;

/** The plan in the shape the server's API takes. */
export function planForServer(plan) {
  return {
    time_zone: plan.timeZone,
    day_start_hour: plan.dayStartHour,
    sessions: plan.sessions.map(({day, number}) => ({day, number})),
    next_session: plan.nextSession,
    planned_sessions: plan.plannedSessions,
    skin_type: plan.skinType,
    pih_history: plan.pihHistory,
    mode: plan.mode,
    protocol: plan.protocol,
    // A plan made before the question was asked has none: the server reads that as clinic.
    ...(plan.setting ? {setting: plan.setting} : {}),
    ...(plan.startsPlanned ? {starts_planned: true} : {}),
  };
}

/** The plan in this phone's shape, from the server's answer to a join, invitation or restore. */
export function planFromServer(planId, wire, schedule) {
  return {
    planId,
    createdAt: new Date().toISOString(),
    // A server older than the question may leave it out: that means clinic.
    setting: wire.setting || 'clinic',
    startsPlanned: Boolean(wire.starts_planned),
    timeZone: wire.time_zone,
    dayStartHour: wire.day_start_hour,
    sessions: wire.sessions,
    nextSession: wire.next_session,
    plannedSessions: wire.planned_sessions,
    skinType: wire.skin_type,
    pihHistory: wire.pih_history,
    // The plan's own mode: a practitioner may have chosen the stricter one.
    mode: wire.mode || modeFor(schedule, wire.skin_type, wire.pih_history),
    protocol: wire.protocol,
    schedule,
  };
}

/** One sync round; resolves with {state, changed} or throws the ApiError that stopped it. */
export async function syncOnce() {
  const plan = await loadPlan();
  if (!plan) return {state: 'none', changed: 0};
  const auth = {device: await getMeta('device'), credential: await getMeta('credential')};
  if (!(await getMeta('registered'))) {
    await registerPlan({plan_id: plan.planId, device_id: auth.device, credential: auth.credential, plan: planForServer(plan)});
    await setMeta('registered', true);
  }
  let changed = 0;
  for (;;) {
    const events = await pendingEvents(BATCH);
    const sent = Date.now();
    const answer = await syncPlan(plan.planId, auth, events, (await getMeta('cursor')) || 0);
    const clock = learnClock(answer.server_time, sent, Date.now());
    changed += await applySync(answer.acknowledged, answer.events, answer.cursor, answer.set_aside || [], clock);
    // `more`: the server cut its answer short (a new device on a long plan); ask on from the cursor.
    if (events.length < BATCH && !answer.more) return {state: 'synced', changed};
  }
}

/**
 * Keep syncing for as long as the page is open.
 * @param {{onStatus: (status: object) => void, onRemoteChanges: () => void}} handlers
 */
export function startSync({onStatus, onRemoteChanges}) {
  let timer = null;
  let dueAt = Infinity;
  let delay = FIRST_RETRY_MS;
  let running = false;
  // A sync asked for while one runs (a tick mid-round) must not be lost.
  let again = false;
  // The earliest asked for wins: a round that ends just after a tick must not push the
  // tick's quick sync back to the next poll (performance.now(): the phone's clock may jump).
  const schedule = (ms) => {
    const at = performance.now() + ms;
    if (at >= dueAt) return;
    clearTimeout(timer);
    dueAt = at;
    timer = setTimeout(() => {
      dueAt = Infinity;
      run();
    }, ms);
  };
  async function run() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const {state, changed} = await syncOnce();
      delay = FIRST_RETRY_MS;
      onStatus({state, lastSync: await getMeta('lastSync'), setAside: await setAsideEvents()});
      if (changed) onRemoteChanges();
      schedule(POLL_MS);
    } catch (error) {
      if (error.status === 404) {
        // The plan was deleted on the server or this device was removed from
        // it: retrying cannot help.  The ticks stay on this phone.
        onStatus({state: 'unlinked', message: error.message});
        return;
      }
      // 409: the plan is full; 429: too many requests from this network.  Said as the server
      // puts it, and tried again later.
      const refused = error.status === 409 || error.status === 429;
      onStatus({state: error.offline ? 'offline' : refused ? 'refused' : 'failed', message: error.message});
      schedule(delay);
      delay = Math.min(delay * 2, LONGEST_RETRY_MS);
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule(0);
      }
    }
  }
  window.addEventListener('online', () => run());
  document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && run());
  document.addEventListener('aftercare:tick', () => schedule(300));
  document.addEventListener('aftercare:sessions-changed', () => schedule(300));
  document.addEventListener('aftercare:plan-started', () => run());
  run();
  return {syncNow: run};
}

// Applying an answer lives here, not in store.js: only syncing needs it, and store.js is
// on Today's critical path.
/**
 * After a sync: drop acknowledged events from the outbox, keep the newer of
 * local and remote events (ticks and session edits), and store the cursor.
 * Returns how many ticks or sessions another device changed: the answer also
 * carries this phone's own events back, which change nothing on screen.
 */
export async function applySync(acknowledged, remote, cursor, setAside = [], clock = null) {
  const tx = (await database()).transaction(['ticks', 'sessions', 'outbox', 'meta'], 'readwrite');
  const outbox = tx.objectStore('outbox');
  // Set aside by the server (say a date typed years wrong): kept here with the reason,
  // never sent again; a later change to the same session or box that is stored clears it.
  let aside = (await tx.objectStore('meta').get('setAside')) || [];
  for (const {id, message} of setAside) {
    const event = await outbox.get(id);
    if (event) aside.push({event, message});
    outbox.delete(id);
  }
  for (const id of acknowledged) {
    const event = await outbox.get(id);
    if (event) aside = aside.filter((entry) => keyOf(entry.event) !== keyOf(event));
    outbox.delete(id);
  }
  tx.objectStore('meta').put(aside.slice(-20), 'setAside');
  // A phone's first sync brings the clinic's earlier edits too: news only after that.
  const hadSynced = Boolean(await tx.objectStore('meta').get('lastSync'));
  const fromClinic = [];
  let changed = 0;
  for (const event of remote) {
    const store = tx.objectStore('session' in event ? 'sessions' : 'ticks');
    const current = await store.get('session' in event ? event.session : [event.day, event.item]);
    // The server's copy of our own event wins too: it may have clamped a clock
    // that ran ahead.
    const own = current?.id === event.id;
    if (!current || own || isLater(event, current)) {
      store.put(event);
      if (!own) changed += 1;
      if (!own && hadSynced && event.device === CLINIC_DEVICE && 'session' in event) {
        fromClinic.push({before: current || null, after: event});
      }
    }
  }
  if (fromClinic.length) {
    // Said once on Today or Sessions (components/clinic-notices.js), which empties it.
    const waiting = (await tx.objectStore('meta').get('clinicChanges')) || [];
    tx.objectStore('meta').put([...waiting, ...fromClinic].slice(-MAX_CLINIC_NOTICES), 'clinicChanges');
  }
  tx.objectStore('meta').put(cursor, 'cursor');
  tx.objectStore('meta').put(Date.now(), 'lastSync');
  if (clock) tx.objectStore('meta').put(clock, 'clock');
  await tx.done;
  remember(remote.filter((event) => !('session' in event)));
  return changed;
}

// Below this, the difference is the network's delay, not a wrong clock.
const CLOCK_NOISE_MS = 2000;

/**
 * What this phone knows of the server's clock after an answer sent at `sent` and
 * received at `received` (this phone's clock): {offset, server}.  New edits are
 * stamped max(phone clock + offset, server) by store.js, so a phone whose clock is
 * days fast or slow still stamps them in the order they were made.  `server`, the
 * latest server time seen, is a floor: time only moves on, so an offset learned
 * before the phone's clock was put right can never stamp an edit earlier than that.
 */
export function learnClock(serverTime, sent, received) {
  if (!Number.isSafeInteger(serverTime)) return null; // an older server: keep what we had
  const offset = serverTime - Math.round((sent + received) / 2);
  const clock = {offset: Math.abs(offset) < CLOCK_NOISE_MS ? 0 : offset, server: serverTime};
  useClock(clock);
  return clock;
}

const keyOf = (event) => ('session' in event ? `session|${event.session}` : `${event.day}|${event.item}`);

/** Changes the server set aside, each {event, message}, oldest first. */
export async function setAsideEvents() {
  return (await (await database()).get('meta', 'setAside')) || [];
}
