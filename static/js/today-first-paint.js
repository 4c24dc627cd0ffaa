/**
 * Today's first paint, before any module has loaded: built by esbuild into one classic
 * script (Makefile FIRST_PAINT) that the page carries inline at the end of Today's
 * markup (allowed by its hash in the CSP), so it runs while the page is parsed and the
 * day's checklist is in the very first frame.  It draws the snapshot the state owner
 * keeps (lib/snapshot.js) with the same drawing code Today uses (components/day-card.js),
 * and nothing else: no IndexedDB, no state.  A tap before Today's module takes over
 * waits in `window.aftercareEarlyTaps` until it does (components/today.js), so none
 * is lost.
 */
import {paintDay, showToday} from './components/day-card.js';
import {todaysSnapshot} from './lib/snapshot.js';

const snapshot = todaysSnapshot();
if (snapshot) {
  const waiting = [];
  window.aftercareEarlyTaps = waiting;
  const record = (day, item, done) => new Promise((resolve, reject) => waiting.push({day, item, done, resolve, reject}));
  const ticks = new Map(snapshot.done.map((id) => [`${snapshot.today}|${id}`, true]));
  paintDay(document.querySelector('[data-today]'), snapshot, ticks, {record});
  showToday(document);
  document.documentElement.dataset.firstPaint = 'snapshot';
}
