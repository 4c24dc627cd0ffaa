/**
 * A snapshot of what Today showed last, in localStorage.  Opening IndexedDB
 * is the slowest step of opening the app offline; localStorage answers at
 * once, so Today can draw the day's checklist from the snapshot straight
 * away.  IndexedDB stays the truth: its render follows within moments and
 * replaces this one.  Only display data is kept here, never the outbox.  Written only
 * by the state owner (plan-state.js), which keeps it in step with the ticks.
 */
import {isSharedDevice} from './shared-device.js';

const KEY = 'aftercare:today';
// Read by Today's boot script (templates/today/boot.js) before the first paint:
// whether to show the onboarding form.
const HAS_PLAN = 'aftercare:has-plan';

/**
 * The snapshot if it was taken for the plan's current local day, else null.  The day's
 * bounds are in the snapshot as instants (components/today.js), so this looks up no
 * time zone: the first one a page makes costs milliseconds it does not have here.
 */
export function todaysSnapshot(now = Date.now()) {
  try {
    const snapshot = JSON.parse(localStorage.getItem(KEY));
    if (snapshot && snapshot.startsMs <= now && now < snapshot.endsMs) return snapshot;
  } catch {
    // Missing, unreadable or blocked storage: Today simply waits for IndexedDB.
  }
  return null;
}

export function saveSnapshot(snapshot) {
  // A shared device keeps nothing after the tab closes: no snapshot either.
  if (isSharedDevice()) return;
  try {
    localStorage.setItem(KEY, JSON.stringify(snapshot));
  } catch {
    // Storage full or blocked: the snapshot is only a shortcut.
  }
}

/** Keep the boot script's "this phone has a plan" flag equal to what IndexedDB holds. */
export function rememberPlanHere(hasPlan) {
  try {
    // A shared device keeps it for the tab only, like the plan itself.
    const [kept, other] = isSharedDevice() ? [sessionStorage, localStorage] : [localStorage, sessionStorage];
    other.removeItem(HAS_PLAN);
    if (hasPlan) kept.setItem(HAS_PLAN, '1');
    else kept.removeItem(HAS_PLAN);
  } catch {
    // Blocked storage: boot.js then shows the form first and Today corrects it.
  }
}

export function clearSnapshot() {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // Nothing to clear.
  }
}
