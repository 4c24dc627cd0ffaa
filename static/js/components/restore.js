/**
 * Settings: "Restore from a saved file", shown only on a phone with no plan.  The work
 * is lib/backup.js's, loaded only when a file is picked.
 */
import {planState} from '../lib/plan-state.js';

export async function startRestore(root) {
  const box = root.querySelector('[data-restore]');
  if (!box || (await planState()).plan) return;
  box.hidden = false;
  // The link from the first-visit form: the browser could not jump to a hidden section.
  if (window.location.hash === '#restore') box.scrollIntoView();
  const input = box.querySelector('[data-restore-file]');
  const status = box.querySelector('[data-restore-status]');
  input.addEventListener('change', async () => {
    const [file] = input.files;
    if (!file) return;
    input.disabled = true;
    status.textContent = 'Restoring…';
    const {KeyGone, RestoreError, restoreFrom} = await import('../lib/backup.js');
    const text = await file.text();
    try {
      let result;
      try {
        result = await restoreFrom(text);
      } catch (problem) {
        if (!(problem instanceof KeyGone)) throw problem;
        if (!window.confirm(problem.message)) {
          throw new RestoreError('Nothing was restored. To have your plan here, link this phone from your other one (Settings → Use on another device).');
        }
        result = await restoreFrom(text, {asNewPlan: true});
      }
      const {samePlan} = result;
      status.textContent = samePlan
        ? 'Your plan is back on this phone, with your sessions and ticks. The phone the file came from was unlinked.'
        : 'Your plan is back on this phone as a new plan, with your sessions and ticks. It syncs when you are online.';
      box.querySelector('[data-restore-done]').hidden = false;
    } catch (problem) {
      input.disabled = false;
      input.value = '';
      status.textContent = problem instanceof RestoreError ? problem.message : `Nothing was restored: ${problem.message}`;
    }
  });
}
