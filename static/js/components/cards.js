/**
 * Drawing Today's cards (components/due-cards.js works them out) and the evening
 * reminder of today's open items.  No clock or time-zone lookups of its own: the
 * evening comes as instants, so the first-paint script can draw these too.
 */

// Just after a session is logged, the day starts again: no "not ticked yet" for a while.
const QUIET_AFTER_SESSION_MS = 60 * 60 * 1000;

/**
 * Draw `cards` plus, in the evening (`evening`: [from, until] in ms, worked out by
 * Today), a reminder of today's open items, but not in the hour after a session was
 * logged (`sessionLoggedMs`).  `logSession(change)` keeps a session logged from a card
 * (the state owner's recordSession); without it the buttons wait, disabled.
 */
export function renderCards(container, cards, {itemsLeft, evening, sessionLoggedMs = 0, now = Date.now(), logSession = null}) {
  const all = [...cards];
  const inEvening = Boolean(evening) && now >= evening[0] && now < evening[1];
  const justLogged = now - sessionLoggedMs < QUIET_AFTER_SESSION_MS;
  if (itemsLeft > 0 && inEvening && !justLogged) {
    const items = itemsLeft === 1 ? '1 item is' : `${itemsLeft} items are`;
    all.push({
      kind: 'due',
      title: 'Evening check',
      text: `${items} not ticked yet today.`,
      link: {href: '#today-list', label: 'Go to today’s list'},
    });
  }
  container.replaceChildren(...all.map((each) => card(each, logSession)));
  container.hidden = !all.length;
}

function card({kind, title, text, log, logLabel, link: own}, logSession) {
  const section = document.createElement('section');
  section.className = kind === 'due' ? 'card card--due' : 'card';
  section.dataset.card = kind;
  const heading = document.createElement('h2');
  heading.textContent = title;
  const body = document.createElement('p');
  body.textContent = text;
  section.append(heading, body);
  const actions = document.createElement('p');
  actions.className = 'actions';
  if (log) {
    const button = document.createElement('button');
    Object.assign(button, {type: 'button', className: 'button', textContent: logLabel, disabled: !logSession});
    button.addEventListener('click', async () => {
      button.disabled = true;
      const {session, day, time, status} = log;
      // Today draws again when the state owner says the sessions changed.
      await logSession({session, day, time, status});
    });
    actions.append(button);
  }
  const link = document.createElement('a');
  if (own) Object.assign(link, {href: own.href, textContent: own.label});
  else Object.assign(link, {href: '/sessions/', className: log ? 'button button--quiet' : '', textContent: log ? 'Sessions' : 'See all sessions'});
  actions.append(link);
  section.append(actions);
  return section;
}
