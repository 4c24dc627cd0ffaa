/**
 * The sync status line under the day card: "Saved on this phone",
 * "Offline — will sync", "Synced 2 min ago", "Sync failed — retrying": what the sync
 * engine (lib/sync.js, started by the app) last said, and what waits in the outbox.
 */
import {planState} from '../lib/plan-state.js';

const MINUTE = 60 * 1000;

function describe(status, waiting) {
  const synced = describeSync(status, waiting);
  const aside = status.setAside || [];
  return aside.length ? `${synced}. ${aside.map(plainWords).join(' ')}` : synced;
}

/** A set-aside change in plain words, with what to do about it. */
function plainWords({event, message}) {
  const reason = message.replace(/^events\[\d+\]\.\w+: /, '');
  if ('session' in event) {
    return `The session dated ${event.day} was not saved on the server (${reason}). Change its date on Sessions.`;
  }
  return `A tick for ${event.day} was not saved on the server (${reason}). Check your phone's date.`;
}

function describeSync(status, waiting) {
  if (status.state === 'offline') return waiting ? 'Offline — will sync' : 'Saved on this phone';
  if (status.state === 'failed') return 'Sync failed — retrying';
  if (status.state === 'refused') return `Not synced: ${status.message} Your ticks are safe on this phone.`;
  if (status.state === 'unlinked') {
    return 'Not syncing: this phone was removed from your plan, or the plan was deleted. Your ticks are still on this phone. To sync again, ask your clinic for a new invitation, or add this phone from one of your other devices (Settings, “Use on another device”).';
  }
  if (status.state === 'synced' && status.lastSync) {
    const minutes = Math.floor((Date.now() - status.lastSync) / MINUTE);
    return minutes < 1 ? 'Synced just now' : `Synced ${minutes} min ago`;
  }
  return 'Saved on this phone';
}

/** Show `sync`'s state (lib/sync.js startSync) on the page, and keep it current. */
export async function startSyncStatus(root, sync) {
  const state = await planState();
  const line = root.querySelector('[data-sync-status]');
  const announcer = root.querySelector('[data-sync-announce]');
  let last = {state: 'none'};
  // The state the first sync finds is what the line shows on arrival: not read out.
  let said = null;
  const show = (status = last) => {
    last = status;
    const waiting = state.outboxSize;
    if (line) line.textContent = describe(status, waiting);
    // Said aloud only when the state changes: "Synced just now" turning into "Synced 1 min
    // ago" is not news, going offline or coming back is.
    const news = describeSync({...status, lastSync: Date.now()}, waiting);
    if (status.state === 'none') return;
    if (announcer && said !== null && news !== said) announcer.textContent = news;
    said = news;
  };
  sync.onStatus(show);
  // Keep "2 min ago" true, and show "will sync" as soon as a change waits offline.
  setInterval(() => show(), MINUTE / 2);
  state.subscribe((change) => change.local && show());
}
