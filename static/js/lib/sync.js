/**
 * Sync between this phone and the server: the engine the app starts once per page
 * (start.js), working with the state owner (plan-state.js) directly.  The outbox is
 * flushed on start, when the browser comes online, when the app comes back to the
 * foreground, after each change made here, and on a backoff timer (the `online` event
 * fires before the network really works).  Each round registers the plan if the server
 * does not have it yet, sends waiting events in batches, and hands the answer (other
 * devices' ticks and session edits) to the state owner.  Also the plan's two shapes,
 * the phone's and the API's.
 */
import {registerPlan, syncPlan} from './api.js';
import {modeFor} from './plan.js';

const BATCH = 200;
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
export async function syncOnce(state) {
  const plan = state.plan;
  if (!plan) return {state: 'none', changed: 0};
  const auth = {device: state.meta('device'), credential: state.meta('credential')};
  if (!state.meta('registered')) {
    await registerPlan({plan_id: plan.planId, device_id: auth.device, credential: auth.credential, plan: planForServer(plan)});
    await state.setMeta('registered', true);
  }
  let changed = 0;
  for (;;) {
    const events = await state.pendingEvents(BATCH);
    const sent = Date.now();
    const answer = await syncPlan(plan.planId, auth, events, state.meta('cursor') || 0);
    changed += await state.applyAnswer({
      acknowledged: answer.acknowledged,
      events: answer.events,
      cursor: answer.cursor,
      setAside: answer.set_aside || [],
      clock: learnClock(answer.server_time, sent, Date.now()),
    });
    // `more`: the server cut its answer short (a new device on a long plan); ask on from the cursor.
    if (events.length < BATCH && !answer.more) return {state: 'synced', changed};
  }
}

let engine = null;

/**
 * Keep syncing for as long as the page is open (started once, by the app: start.js).
 * Runs a round when the page opens, comes online or back to the foreground, soon after
 * each change this phone makes, when a plan starts, and on a backoff timer.
 * @returns {{syncNow: () => Promise<void>, onStatus: (listener: (status: object) => void) => void}}
 *   `onStatus`: told every round's outcome ({state, lastSync, setAside, message}), and at once
 *   the last one
 */
export function startSync(state) {
  engine ||= syncEngine(state);
  return engine;
}

function syncEngine(state) {
  const listeners = new Set();
  let last = null;
  const tell = (status) => {
    last = status;
    for (const listener of listeners) listener(status);
  };
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
      const {state: outcome} = await syncOnce(state);
      delay = FIRST_RETRY_MS;
      tell({state: outcome, lastSync: state.meta('lastSync'), setAside: state.meta('setAside') || []});
      schedule(POLL_MS);
    } catch (error) {
      if (error.status === 404) {
        // The plan was deleted on the server or this device was removed from
        // it: retrying cannot help.  The ticks stay on this phone.
        tell({state: 'unlinked', message: error.message});
        return;
      }
      // 409: the plan is full; 429: too many requests from this network.  Said as the server
      // puts it, and tried again later.
      const refused = error.status === 409 || error.status === 429;
      tell({state: error.offline ? 'offline' : refused ? 'refused' : 'failed', message: error.message});
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
  state.subscribe((change) => {
    if (change.plan) run();
    else if (change.local) schedule(300);
  });
  run();
  return {
    syncNow: run,
    onStatus(listener) {
      listeners.add(listener);
      if (last) listener(last);
    },
  };
}

// Below this, the difference is the network's delay, not a wrong clock.
const CLOCK_NOISE_MS = 2000;

/**
 * What this phone knows of the server's clock after an answer sent at `sent` and
 * received at `received` (this phone's clock): {offset, server}.  New edits are
 * stamped max(phone clock + offset, server) by plan-state.js, so a phone whose clock is
 * days fast or slow still stamps them in the order they were made.  `server`, the
 * latest server time seen, is a floor: time only moves on, so an offset learned
 * before the phone's clock was put right can never stamp an edit earlier than that.
 */
export function learnClock(serverTime, sent, received) {
  if (!Number.isSafeInteger(serverTime)) return null; // an older server: keep what we had
  const offset = serverTime - Math.round((sent + received) / 2);
  return {offset: Math.abs(offset) < CLOCK_NOISE_MS ? 0 : offset, server: serverTime};
}
