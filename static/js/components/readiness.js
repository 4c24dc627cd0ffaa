/**
 * "Ready for your session?": the protocol's screening questions, shown the day
 * before a planned session and on its day.  Each answer is saved on the phone
 * at once and syncs with the plan like a tick (day = the session's day, item =
 * the question's answer id, done = "yes"), so the clinic console can show the
 * session as ready, needing a word, or not answered.  A "yes" shows the advice
 * for the plan's setting: a clinic client tells the practitioner; someone at
 * home waits or sees a doctor first.
 */
import {settingOf, sourceFor} from '../lib/plan.js';
import {planState} from '../lib/plan-state.js';
import {sourceLine} from './checklist.js';
import {formatDay} from './due-cards.js';

/**
 * @param {HTMLElement} container  emptied and filled
 * @param {{plan: object, session: {day: string, number: number}, answers: Map<string, boolean>}} options
 */
export function renderReadiness(container, {plan, session, answers}) {
  const questions = plan.schedule.readiness || [];
  const setting = settingOf(plan);
  container.replaceChildren();
  const heading = element('h2', '', `Ready for session ${session.number}?`);
  heading.id = 'readiness-heading';
  container.setAttribute('aria-labelledby', heading.id);
  const who =
    setting === 'home'
      ? 'Your answers are saved with your plan; no clinic sees them.'
      : 'Your answers are saved with your plan, and your practitioner sees any “yes” before the session.';
  const intro = element('p', '', `Before ${formatDay(session.day)}, answer these so nothing is missed. ${who}`);
  const status = element('p', 'readiness__status');
  status.setAttribute('role', 'status');
  container.append(heading, intro, status);
  const update = () => showStatus(status, questions, answers, setting);
  for (const question of questions) container.append(questionRow(question, {plan, session, answers, setting, update}));
  update();
  container.hidden = !questions.length;
}

function questionRow(question, {plan, session, answers, setting, update}) {
  const fieldset = element('fieldset', 'readiness__question');
  fieldset.dataset.question = question.id;
  fieldset.append(element('legend', '', question.question));
  const choices = element('div', 'readiness__choices');
  const advice = element('div', 'readiness__advice');
  const showAdvice = () => {
    advice.replaceChildren();
    if (answers.get(question.answer_id) !== true) return;
    advice.append(element('p', '', question[setting]), sourceLine(sourceFor(plan.schedule, question.source)));
  };
  for (const [value, label] of [['yes', 'Yes'], ['no', 'No']]) {
    const id = `ready-${session.day}-${question.id}-${value}`;
    const input = element('input');
    Object.assign(input, {type: 'radio', name: `ready-${question.id}`, id, value});
    const known = answers.get(question.answer_id);
    input.checked = known !== undefined && known === (value === 'yes');
    input.addEventListener('change', async () => {
      const yes = value === 'yes';
      const before = answers.get(question.answer_id);
      answers.set(question.answer_id, yes);
      showAdvice();
      update();
      try {
        // Kept and synced like a tick.
        await (await planState()).recordTick(session.day, question.answer_id, yes);
      } catch (error) {
        // Not saved: show the truth rather than an answer that is not kept.
        if (before === undefined) answers.delete(question.answer_id);
        else answers.set(question.answer_id, before);
        input.checked = false;
        showAdvice();
        update();
        window.alert(`This answer could not be saved on your phone: ${error.message}`);
      }
    });
    const choice = element('label', 'choice choice--inline');
    choice.htmlFor = id;
    choice.append(input, element('span', '', label));
    choices.append(choice);
  }
  fieldset.append(choices, advice);
  showAdvice();
  return fieldset;
}

function showStatus(status, questions, answers, setting) {
  const answered = questions.filter((q) => answers.has(q.answer_id));
  const yes = answered.filter((q) => answers.get(q.answer_id) === true);
  status.className = yes.length ? 'readiness__status readiness__status--word' : 'readiness__status';
  if (yes.length) {
    const answers = yes.length === 1 ? '1 answer needs' : `${yes.length} answers need`;
    status.textContent =
      setting === 'home'
        ? `${answers} care: read the advice before you needle.`
        : `Tell your practitioner before the session: ${answers} a word.`;
  } else if (answered.length === questions.length) {
    status.textContent = 'All answered, nothing to flag. Thank you.';
  } else {
    status.textContent = `${answered.length} of ${questions.length} answered.`;
  }
}

function element(tag, className = '', text = '') {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}
