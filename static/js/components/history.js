/**
 * Earlier days of the run: yesterday can still be ticked; older days show
 * how much was done, or "before you started" for an untouched day before the
 * plan was set up on this phone (not a failure: she did not have the app yet).
 */
import {addDays, localDay} from '../lib/days.js';
import {dayPlan} from '../lib/plan.js';
import {renderChecklist} from './checklist.js';

const SHORT_DATE = new Intl.DateTimeFormat('en-GB', {
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  timeZone: 'UTC',
});

/**
 * `ticks` maps "day|item" to done; it is updated in place when yesterday is ticked.
 * `record(day, item, done)` keeps a tick of yesterday's (the state owner's recordTick).
 */
export function renderHistory(root, {plan, run, ticks, record}) {
  const yesterdayBox = root.querySelector('[data-yesterday]');
  const list = root.querySelector('[data-history]');
  yesterdayBox.replaceChildren();
  list.replaceChildren();
  // No earlier days yet (day 0, or before the first session): no empty heading either.
  const earliest = run.session.status === 'done' ? 0 : run.dayNumber;
  root.querySelector('[data-history-section]').hidden = run.dayNumber - 1 < earliest;
  const started = plan.createdAt ? localDay(new Date(plan.createdAt), plan.timeZone, plan.dayStartHour) : '';
  for (let day = run.dayNumber - 1; day >= earliest; day -= 1) {
    const date = addDays(run.session.day, day);
    const {items} = dayPlan(plan, day);
    // Yesterday can still be ticked, so it always shows its count.
    const describe = (mayBeBefore = false) => {
      const done = items.filter((item) => ticks.get(`${date}|${item.id}`)).length;
      const when = `Day ${day} · ${SHORT_DATE.format(new Date(date))}`;
      const before = mayBeBefore && !done && date < started;
      return before ? `${when} · before you started` : `${when} · ${done} of ${items.length} done`;
    };
    if (day < run.dayNumber - 1) {
      const row = document.createElement('li');
      row.textContent = describe(true);
      list.append(row);
      continue;
    }
    const details = document.createElement('details');
    details.className = 'card yesterday';
    const title = document.createElement('summary');
    title.textContent = `Yesterday: ${describe()}`;
    const body = document.createElement('div');
    details.append(title, body);
    const dayTicks = new Map(items.map((item) => [item.id, ticks.get(`${date}|${item.id}`)]));
    renderChecklist(body, {
      day: date,
      items,
      ticks: dayTicks,
      record,
      onChange: (item, done) => {
        ticks.set(`${date}|${item}`, done);
        title.textContent = `Yesterday: ${describe()}`;
      },
    });
    yesterdayBox.append(details);
  }
}
