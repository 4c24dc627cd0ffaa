/**
 * The Today screen: onboarding when this phone has no plan yet, otherwise
 * "Day N after session k" with the day's checklist, progress ring, gates and
 * earlier days, drawn from the state owner (lib/plan-state.js), so it opens offline.
 * The snapshot of the day the owner keeps is drawn before any module loads
 * (today-first-paint.js); this takes over from it once the owner has loaded, and draws
 * again when another device, the clinic or a session change alters what it shows.
 */
import {addDays, daysBetween, DEFAULT_DAY_START_HOUR, instantAt, localDay} from '../lib/days.js';
import {conditionFor, currentRun, dayPlan, settingOf} from '../lib/plan.js';
import {buildSeries, upcoming} from '../lib/series.js';
import {planState} from '../lib/plan-state.js';
import {paintDay, revealTheRest, showToday} from './day-card.js';
import {EVENING_HOUR, formatDay, formatDayWithYear, seriesCards} from './due-cards.js';

/** Start Today; resolves once something is on screen (the checklist or the form). */
export async function startToday(root) {
  const view = root.querySelector('[data-today]');
  if (!view) return;
  const form = root.querySelector('[data-onboarding]');
  const state = await planState();
  keepEarlyTaps(state);
  let shown = null;
  // Renders run one after another, so the last one always shows the latest state.
  let queue = Promise.resolve();
  const redraw = () =>
    (queue = queue.then(async () => {
      if (!state.plan) return;
      // Wording that differs for people who needle at home (see app.css [data-setting]).
      document.documentElement.dataset.setting = settingOf(state.plan);
      shown = await keepingFocus(() => renderToday(view, state));
      showToday(root);
    }));
  // Her own ticks are on screen already (the checklist updates itself); anything else
  // that changed (another device, the clinic, a session logged, a new plan) is drawn.
  state.subscribe((change) => {
    if (!(change.local && !change.plan && !change.sessions)) redraw();
  });
  // The app may stay open past the day boundary: redraw when it comes back.
  document.addEventListener('visibilitychange', () => {
    const plan = state.plan;
    if (!plan || document.visibilityState !== 'visible') return;
    if (localDay(new Date(), plan.timeZone, plan.dayStartHour) !== shown) redraw();
  });
  if (state.plan) return redraw();
  // No plan yet.  The form is normally on screen already (the boot script); this also
  // covers a stale "has a plan" flag.  Its script loads only now: most opens of
  // Today never need it.
  document.documentElement.setAttribute('data-first-visit', '');
  view.hidden = true;
  revealTheRest(root);
  const [{runOnboarding}, {randomId}, {persistStorage}] = await Promise.all([
    import('./onboarding.js'),
    import('../lib/ids.js'),
    import('../lib/persist.js'),
  ]);
  runOnboarding(form).then(async (created) => {
    const shared = form.elements.shared_device?.checked;
    if (shared) await state.useSharedDevice();
    // Told to every subscriber: the redraw above shows it, the sync engine sends it.
    await state.startPlan(created, {id: randomId(16), credential: randomId(24)});
    if (!shared) persistStorage();
    await queue;
  });
}

/**
 * Taps on the checklist the first-paint script drew, made before this module ran, are
 * kept now, in the order made; any later tap on that drawing is kept at once.
 */
function keepEarlyTaps(state) {
  const waiting = window.aftercareEarlyTaps;
  if (!waiting) return;
  const keep = ({day, item, done, resolve, reject}) => state.recordTick(day, item, done).then(resolve, reject);
  waiting.splice(0).forEach(keep);
  waiting.push = (tap) => void keep(tap);
}

/**
 * Run a redraw without losing her place: the control that had focus (a checkbox
 * or an answer, whose ids name their day and item) has it again afterwards.
 */
async function keepingFocus(draw) {
  const focused = document.activeElement?.id;
  const result = await draw();
  const again = focused && document.getElementById(focused);
  if (again && again !== document.activeElement) again.focus({preventScroll: true});
  return result;
}

async function renderToday(view, state) {
  const plan = state.plan;
  const series = buildSeries(plan, state.sessionEvents());
  const run = currentRun(plan, series);
  const next = upcoming(series, run.today);
  const daysToNext = next ? daysBetween(run.today, next.day) : null;
  const today = clockBehind(run)
    ? {ongoing: false, before: true, items: [], gates: []}
    : dayPlan(plan, run.dayNumber, daysToNext, run.session.status === 'done');
  const events = state.ticksBetween(run.dayNumber < 0 ? run.today : run.session.day, run.today);
  const ticks = new Map(events.map((event) => [`${event.day}|${event.item}`, event.done]));
  const model = {
    today: run.today,
    // When this day starts and ends, and its evening (17:00 to midnight on the clock), as
    // instants: the snapshot is checked and drawn with no time-zone lookup.
    startsMs: instantAt(run.today, plan.dayStartHour ?? DEFAULT_DAY_START_HOUR, plan.timeZone),
    endsMs: instantAt(addDays(run.today, 1), plan.dayStartHour ?? DEFAULT_DAY_START_HOUR, plan.timeZone),
    evening: [instantAt(run.today, EVENING_HOUR, plan.timeZone), instantAt(run.today, 24, plan.timeZone)],
    heading: heading(run),
    note: dayNote(plan, run, today.ongoing, next),
    items: today.items,
    gates: gateLines(plan, run, today),
    cards: seriesCards(plan, series, run.today),
    // When this phone last logged a session as done (its own clock): the evening card
    // waits an hour after it.
    sessionLoggedMs: state.meta('sessionLoggedAt') || 0,
  };
  // Today's boxes and yesterday's are kept the same way.
  const record = (day, item, done) => state.recordTick(day, item, done);
  paintDay(view, model, ticks, {record, logSession: (change) => state.recordSession(change)});
  state.rememberToday(model);
  await showReadiness(view, state, next, daysToNext);
  // Earlier days are below the fold: their module loads after today is drawn.
  const {renderHistory} = await import('./history.js');
  renderHistory(view, {plan, run, ticks, record});
  return run.today;
}

/** The day before a planned session, and on its day: "Ready for your session?" (loaded only then). */
async function showReadiness(view, state, next, daysToNext) {
  const plan = state.plan;
  const container = view.querySelector('[data-readiness]');
  const due = next && daysToNext !== null && daysToNext <= READINESS_DAYS && plan.schedule.readiness?.length;
  if (!due) {
    container.hidden = true;
    return;
  }
  const {renderReadiness} = await import('./readiness.js');
  const answers = new Map(state.ticksBetween(next.day, next.day).map((event) => [event.item, event.done]));
  renderReadiness(container, {plan, session: next, answers});
}

// Shown from the day before a session (the issue of a cold sore or a tan is then known).
const READINESS_DAYS = 1;

/** A done session after today: the phone's clock must be behind (or set to another year). */
const clockBehind = (run) => run.session.status === 'done' && run.dayNumber < 0;
/** A first session still to come (set up ahead at home) whose day has come: not logged yet. */
const notLoggedYet = (run) => run.session.status !== 'done' && run.dayNumber >= 0;

function heading(run) {
  const {number} = run.session;
  if (clockBehind(run)) return 'Your phone’s date looks wrong';
  if (notLoggedYet(run)) {
    return run.dayNumber === 0 ? `Session ${number} is today` : `Did session ${number} happen?`;
  }
  if (run.dayNumber >= 0) return `Day ${run.dayNumber} after session ${number}`;
  return run.dayNumber === -1 ? `Session ${number} is tomorrow` : `Session ${number} is in ${-run.dayNumber} days`;
}

function dayNote(plan, run, ongoing, next) {
  if (clockBehind(run)) {
    // With the years: a clock that is wrong may be wrong by a year.
    return `This phone says today is ${formatDayWithYear(run.today)}, before your session ${run.session.number} on ${formatDayWithYear(run.session.day)}. Check the date and time in your phone’s settings; the warning signs below still apply.`;
  }
  if (notLoggedYet(run)) {
    return 'Log it below once you have had it (or change its date on Sessions): the aftercare starts from that day.';
  }
  if (run.dayNumber < 0) {
    const window = plan.schedule.modes[plan.mode].before?.length || 0;
    const note = `Session ${run.session.number}: ${formatDay(run.session.day)}.`;
    return -run.dayNumber > window
      ? `${note} The list starts ${window} days before it, to get your skin ready.`
      : `${note} Until then, this list gets your skin ready.`;
  }
  const recovery = plan.schedule.recovery_days;
  const parts = [ongoing
    ? `Your ${recovery}-day recovery run is over; these daily habits carry on until your next session.`
    : run.dayNumber === 0
      ? `Day 0 is the day of the session itself; your ${recovery}-day recovery run starts today.`
      : `Recovery day ${run.dayNumber} of ${recovery}.`];
  if (next && next.day > run.today) parts.push(`Next session: ${formatDay(next.day)}.`);
  return parts.join(' ');
}

/**
 * "Can I use it today?" as plain answers with dates, each with its condition:
 * "Makeup: not yet — from Sun 6 Dec, if your skin is calm…".  Once the recovery
 * run is over and every gate is open, one line says so.
 */
function gateLines(plan, run, today) {
  const condition = conditionFor(plan);
  if (clockBehind(run)) return [{open: false, text: 'Shown again once the phone’s date is right.'}];
  if (today.before) return [{open: true, text: 'These start on the day of your session.'}];
  if (today.ongoing && today.gates.every((gate) => !gate.days_left)) {
    // Pre-care for the next session may ask her to hold off some of them again.
    const text = today.precare
      ? 'Your last session’s waits are over. Before your next session, hold off what the list above says.'
      : 'All cleared. Keep up sun protection every day.';
    return [{open: true, text}];
  }
  return today.gates.map((gate) => {
    const from = formatDay(addDays(run.session.day, gate.from_day));
    return gate.days_left
      ? {open: false, text: `${gate.name}: not yet. From ${from}, ${condition}.`}
      : {open: true, text: `${gate.name}: yes, from ${from}, ${condition}.`};
  });
}
