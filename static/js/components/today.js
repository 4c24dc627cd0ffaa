/**
 * The Today screen: onboarding when this phone has no plan yet, otherwise
 * "Day N after session k" with the day's checklist, progress ring, gates and
 * earlier days, all read from IndexedDB (so it opens offline).
 */
import {currentRun, dayPlan} from '../lib/plan.js';
import {loadPlan, startPlan, ticksBetween} from '../lib/store.js';
import {renderChecklist} from './checklist.js';
import {renderHistory} from './history.js';

const LONG_DATE = new Intl.DateTimeFormat('en-GB', {weekday: 'long', day: 'numeric', month: 'long', timeZone: 'UTC'});

/** Start Today; resolves once something is on screen (the checklist or the form). */
export async function startToday(root) {
  const view = root.querySelector('[data-today]');
  if (!view) return;
  let plan = null;
  let shown = null;
  // Renders run one after another, so the last one always shows the latest ticks.
  let queue = Promise.resolve();
  const redraw = () =>
    (queue = queue.then(async () => {
      if (plan) shown = await renderToday(view, plan);
    }));
  // Listen before the first render: a sync that lands meanwhile must redraw.
  document.addEventListener('aftercare:remote-changes', redraw);
  // The app may stay open past the day boundary: redraw when it comes back.
  document.addEventListener('visibilitychange', () => {
    if (plan && document.visibilityState === 'visible' && currentRun(plan).today !== shown) redraw();
  });
  const show = async (stored) => {
    plan = stored;
    await redraw();
    view.hidden = false;
  };
  const stored = await loadPlan();
  if (stored) return show(stored);
  // No plan yet: show the form (loaded only now: most visits never need it).
  const [{runOnboarding}, {randomId}, {persistStorage}] = await Promise.all([
    import('./onboarding.js'),
    import('../lib/ids.js'),
    import('../lib/persist.js'),
  ]);
  runOnboarding(root.querySelector('[data-onboarding]')).then(async (created) => {
    await startPlan(created, {id: randomId(16), credential: randomId(24)});
    persistStorage();
    document.dispatchEvent(new CustomEvent('aftercare:plan-started'));
    await show(created);
  });
}

async function renderToday(view, plan) {
  const run = currentRun(plan);
  const today = dayPlan(plan, run.dayNumber);
  const events = await ticksBetween(run.session.day, run.today);
  const ticks = new Map(events.map((event) => [`${event.day}|${event.item}`, event.done]));
  const progress = () => showProgress(view, today.items, (id) => ticks.get(`${run.today}|${id}`));
  view.querySelector('[data-day-heading]').textContent =
    `Day ${run.dayNumber} after session ${run.session.number}`;
  view.querySelector('[data-day-note]').textContent = dayNote(plan, run, today.ongoing);
  renderChecklist(view.querySelector('[data-checklist]'), {
    day: run.today,
    items: today.items,
    ticks: new Map(today.items.map((item) => [item.id, ticks.get(`${run.today}|${item.id}`)])),
    editable: true,
    onChange: (item, done) => {
      ticks.set(`${run.today}|${item}`, done);
      progress();
    },
  });
  renderGates(view.querySelector('[data-gates]'), today.gates);
  renderHistory(view, {plan, run, ticks});
  progress();
  return run.today;
}

function dayNote(plan, run, ongoing) {
  const recovery = plan.schedule.recovery_days;
  const parts = [ongoing
    ? `Your ${recovery}-day recovery run is over; these daily habits carry on until your next session.`
    : `Recovery day ${run.dayNumber} of ${recovery}.`];
  if (plan.nextSession && plan.nextSession > run.today) {
    parts.push(`Next session: ${LONG_DATE.format(new Date(plan.nextSession))}.`);
  }
  return parts.join(' ');
}

function showProgress(view, items, isDone) {
  const done = items.filter((item) => isDone(item.id)).length;
  const percent = items.length ? Math.round((100 * done) / items.length) : 100;
  const text = `${done} of ${items.length} done today`;
  view.querySelector('[data-ring-done]').setAttribute('stroke-dasharray', `${percent} 100`);
  view.querySelector('[data-ring-label]').textContent = text;
  view.querySelector('[data-progress-text]').textContent = text;
}

function renderGates(list, gates) {
  list.replaceChildren(
    ...gates.map((gate) => {
      const row = document.createElement('li');
      row.className = gate.days_left ? 'gate' : 'gate gate--open';
      row.textContent = gate.message;
      return row;
    }),
  );
}
