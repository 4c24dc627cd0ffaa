/**
 * The file "Export my data" saves, and restoring a plan from it on a phone with none.
 *
 * The file holds the plan, its sessions and ticks, the changes not yet synced, and the
 * key that links the phone to its plan.  With the key, a new phone brings back the same
 * plan from the server: it uses the key once to link itself, then unlinks the phone the
 * file came from (most often lost), so the file opens nothing after that.  Without a key
 * (a file from before version 2), or for a plan the server no longer has, the file
 * becomes a new plan with its history kept: each session and tick is sent again as this
 * phone's own change, with its original time, so the merge keeps the order they were made in.
 */
import {createJoinLink, getSchedule, joinPlan, removeDevice} from './api.js';
import {randomId} from './ids.js';
import {planState} from './plan-state.js';
import {planFromServer} from './sync.js';

const FORMAT = 'aftercare-export';
const VERSION = 2;
// An export of a year of daily ticks is well under 1 MB.
const LARGEST_FILE = 5 * 1024 * 1024;
const NOT_AN_EXPORT = 'This file is not one the app saved with “Export my data”. Nothing was changed.';

export class RestoreError extends Error {}

/** The file's key no longer opens its plan: restoring goes on only as a new plan, if asked. */
export class KeyGone extends RestoreError {}

/** Everything this phone holds, for "Export my data". */
export async function exportAll() {
  const {plan, ticks, sessions, outbox, device, credential} = await (await planState()).everything();
  return {
    format: FORMAT,
    version: VERSION,
    about:
      'Everything the aftercare app kept on one phone: your plan, your sessions, every tick, the changes ' +
      'not yet synced, and the key that links that phone to your plan. Keep this file private.',
    how_to_restore:
      'On the new phone, open the app and choose “Restore from a saved file” below “Set up your aftercare”, ' +
      'then pick this file. Your plan, sessions and ticks come back, and the phone this file came from is ' +
      'unlinked from your plan (link it again from Settings if you still use it).',
    exported_at: new Date().toISOString(),
    plan,
    ticks,
    sessions,
    waiting_to_sync: outbox,
    device: plan && device ? {id: device, credential} : null,
  };
}

/**
 * Restore the plan in an export file's `text` on this phone, which must have no plan.
 * Resolves with {samePlan}: whether the server's plan came back (or a new one was made).
 * Throws RestoreError, with words for the person, when it cannot; then nothing changed.
 * A file whose key the server no longer takes (used by an earlier restore, or its phone
 * removed) throws KeyGone unless `asNewPlan`: a new plan would not sync with the phones
 * that have the old one, so the person is asked first.
 */
export async function restoreFrom(text, {asNewPlan = false} = {}) {
  if (text.length > LARGEST_FILE) throw new RestoreError(NOT_AN_EXPORT);
  const file = readExport(text);
  const state = await planState();
  if (state.plan) throw new RestoreError('This phone already has a plan. Nothing was changed.');
  const device = {id: randomId(16), credential: randomId(24)};
  const joined = file.device ? await joinAs(file, device) : null;
  if (!joined && file.device && !asNewPlan) {
    throw new KeyGone(
      'This file no longer opens your plan on the server: it was already used to restore it on ' +
        'another phone, the phone it came from was removed, or the plan was deleted. If your plan ' +
        'is on another phone, link this one ' +
        'from there (Settings → Use on another device). Restore it here as a separate new plan instead?',
    );
  }
  if (joined) {
    const plan = planFromServer(joined.plan_id, joined.plan, await getSchedule(joined.plan.protocol.id));
    // The server has everything but the changes the old phone had not sent yet.
    await state.startPlan(plan, device, {registered: true, cursor: 0}, contents(file, file.waiting, device.id));
  } else {
    const plan = {...file.plan, planId: randomId(16), createdAt: new Date().toISOString()};
    await state.startPlan(plan, device, {}, contents(file, [...file.sessions, ...file.ticks], device.id));
  }
  return {samePlan: Boolean(joined)};
}

/** The parts of an export file, each checked; RestoreError for anything else. */
export function readExport(text) {
  let file;
  try {
    file = JSON.parse(text);
  } catch {
    throw new RestoreError(NOT_AN_EXPORT);
  }
  const plan = file?.plan;
  const lists = [file?.ticks, file?.sessions, file?.waiting_to_sync];
  const fits =
    plan &&
    typeof plan.planId === 'string' &&
    typeof plan.timeZone === 'string' &&
    Array.isArray(plan.sessions) &&
    typeof plan.schedule === 'object' &&
    lists.every(Array.isArray) &&
    file.ticks.every(isTick) &&
    file.sessions.every(isSession) &&
    file.waiting_to_sync.every((event) => isTick(event) || isSession(event));
  if (!fits) throw new RestoreError(file?.format === FORMAT && !plan ? 'This file holds no plan. Nothing was changed.' : NOT_AN_EXPORT);
  const key = file.device;
  const device = typeof key?.id === 'string' && typeof key?.credential === 'string' ? key : null;
  return {plan, ticks: file.ticks, sessions: file.sessions, waiting: file.waiting_to_sync, device};
}

const isDay = (value) => typeof value === 'string' && /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(value);
const isStamped = (event) =>
  typeof event?.id === 'string' && typeof event.device === 'string' && Number.isSafeInteger(event.ts) && Number.isSafeInteger(event.counter);
const isTick = (event) => isStamped(event) && isDay(event.day) && typeof event.item === 'string' && typeof event.done === 'boolean';
const isSession = (event) => isStamped(event) && typeof event.session === 'string' && isDay(event.day) && typeof event.status === 'string';

/**
 * Link this phone to the file's plan with the file's key, then unlink the phone the key
 * belonged to.  The server's answer to the join, or null when the server no longer has
 * the plan or no longer takes the key (a 404 either way).
 */
async function joinAs(file, device) {
  const old = {device: file.device.id, credential: file.device.credential};
  const planId = file.plan.planId;
  try {
    const {link} = await createJoinLink(planId, old);
    const token = link.split('#')[1].split('.')[1];
    const answer = await joinPlan({plan_id: planId, token, device_id: device.id, credential: device.credential});
    await removeDevice(planId, {device: device.id, credential: device.credential}, old.device).catch(() => {
      // Still linked: Settings lists it, with Remove.
    });
    return answer;
  } catch (problem) {
    if (problem.offline) {
      throw new RestoreError('You are offline. Connect to the internet and try again, so your plan comes back with every tick. Nothing was changed.');
    }
    if (problem.status === 404) return null;
    throw problem;
  }
}

/**
 * Put the file's sessions and ticks on this phone, and send `restamp` again as this
 * phone's own changes (the server takes a change only from the device that made it).
 */
/**
 * What the restored phone holds: the file's ticks and sessions, and `restamp` (the
 * changes to send) as this phone's own events in its outbox.
 */
function contents(file, restamp, deviceId) {
  const latest = new Map([...file.ticks, ...file.sessions].map((event) => [event.id, event]));
  const outbox = restamp.map((event, index) => {
    const mine = {...event, id: crypto.randomUUID(), device: deviceId, counter: index + 1};
    // A change another device later overrode stays overridden on screen.
    if (latest.has(event.id)) latest.set(event.id, mine);
    return mine;
  });
  const kept = [...latest.values()];
  return {
    ticks: kept.filter((event) => !('session' in event)),
    sessions: kept.filter((event) => 'session' in event),
    outbox,
    counter: outbox.length,
  };
}
