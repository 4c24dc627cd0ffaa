/**
 * The onboarding form on Today: works offline, creates the plan on this
 * phone at once.  The first date defaults to today (set here, not by the
 * server, so the precached page stays the same for everyone).
 */
import {getSchedule} from '../lib/api.js';
import {DEFAULT_DAY_START_HOUR, deviceTimeZone, localDay} from '../lib/days.js';
import {buildPlan} from '../lib/plan.js';

/**
 * Show the form and resolve with the new plan once it is valid.
 * @param {HTMLFormElement} form
 * @returns {Promise<object>}
 */
export function runOnboarding(form) {
  const today = localDay(new Date(), deviceTimeZone(), DEFAULT_DAY_START_HOUR);
  const lastSession = form.elements.last_session;
  lastSession.value = today;
  lastSession.max = today;
  form.elements.next_session.min = today;
  form.hidden = false;
  const error = form.querySelector('[data-form-error]');
  return new Promise((resolve) => {
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        const answers = Object.fromEntries(new FormData(form));
        const plan = buildPlan(answers, await getSchedule());
        form.hidden = true;
        resolve(plan);
      } catch (problem) {
        error.textContent = problem.message;
        error.hidden = false;
        error.focus?.();
      }
    });
  });
}
