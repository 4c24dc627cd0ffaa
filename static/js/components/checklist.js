/**
 * One day's checklist: items grouped morning / any time / evening, each a
 * native checkbox with its label and an expandable "why" with its source.
 * Every item reads as something done today, so a tick always means "done";
 * the kind ("To do", "Hold off", "Check") is a visual hint only and stays out
 * of the checkbox's name.  A change is kept at once by the caller's `record` (the state
 * owner's recordTick, lib/plan-state.js); without one, the boxes are read-only.
 */
const GROUPS = [
  ['morning', 'Morning'],
  ['any', 'Any time'],
  ['evening', 'Evening (from 5 pm)'],
];
const KIND_LABEL = {do: 'To do', avoid: 'Hold off', watch: 'Check'};
const HOW_TO_TICK = 'Tick each one once you have done it today.';

/**
 * @param {HTMLElement} container  emptied and filled
 * @param {{day: string, items: object[], ticks: Map<string, boolean>,
 *          record?: (day: string, item: string, done: boolean) => Promise<unknown>,
 *          onChange?: (item: string, done: boolean) => void}} options
 */
export function renderChecklist(container, {day, items, ticks, record = null, onChange}) {
  container.replaceChildren();
  if (items.length) container.append(element('p', 'checklist__hint', HOW_TO_TICK));
  for (const [time, heading] of GROUPS) {
    const group = items.filter((item) => item.time === time);
    if (!group.length) continue;
    const section = element('section', 'card checklist');
    section.append(element('h2', 'checklist__heading', heading));
    const list = element('ul', 'checklist__list');
    for (const item of group) list.append(itemRow(day, item, ticks.get(item.id), record, onChange));
    section.append(list);
    container.append(section);
  }
}

function itemRow(day, item, done, record, onChange) {
  const id = `tick-${day}-${item.id}`;
  const row = element('li', `checklist__item checklist__item--${item.kind}`);
  const box = element('input');
  Object.assign(box, {type: 'checkbox', id, checked: Boolean(done), disabled: !record});
  box.dataset.itemId = item.id;
  box.dataset.day = day;
  box.addEventListener('change', async () => {
    onChange?.(item.id, box.checked);
    try {
      await record(day, item.id, box.checked);
    } catch (error) {
      // Not saved (storage full or blocked): show the truth, not a tick that is not kept.
      box.checked = !box.checked;
      onChange?.(item.id, box.checked);
      window.alert(`This tick could not be saved on your phone: ${error.message}`);
    }
  });
  const label = element('label', 'checklist__label');
  label.htmlFor = id;
  const kind = element('span', 'checklist__kind', KIND_LABEL[item.kind]);
  kind.setAttribute('aria-hidden', 'true');
  label.append(kind, item.text);
  const why = element('details', 'checklist__why');
  // Every expander reads "Why?"; a screen reader also hears which item it explains.
  const summary = element('summary', '', 'Why?');
  summary.append(element('span', 'visually-hidden', ` ${item.text}`));
  why.append(summary, element('p', '', item.why), sourceLine(item.source));
  row.append(box, label, why);
  return row;
}

/** "Source: citation" with a link to it (older plans keep only the citation text). */
export function sourceLine(source) {
  const {citation, link} = typeof source === 'string' ? {citation: source, link: ''} : source;
  const line = element('p', 'checklist__source', 'Source: ');
  if (link) {
    const anchor = element('a', '', citation);
    Object.assign(anchor, {href: link, rel: 'noopener', target: '_blank'});
    line.append(anchor);
  } else {
    line.append(citation);
  }
  return line;
}

function element(tag, className = '', text = '') {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}
