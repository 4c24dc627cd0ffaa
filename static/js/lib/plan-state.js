/**
 * The plan's state on this phone, and its one owner.  Loaded from the database once per
 * page; changed only here (a tick, a session edit, a sync's answer, a plan started or
 * erased); each change is told once to every view that subscribed.  Views render from
 * what this module holds and never read storage themselves.  It also keeps the two
 * shortcuts beside the database: the "has a plan" flag Today's boot script reads and
 * the snapshot of Today that lets the checklist appear before IndexedDB opens
 * (snapshot.js); nothing else writes them.
 */
import {database, STORES, useSharedDeviceMode} from './database.js';
import {isLater} from './merge.js';
import {clearSnapshot, rememberPlanHere, saveSnapshot} from './snapshot.js';
import {storeAnswer} from './sync-answer.js';

const boxKey = (day, item) => `${day}|${item}`;

/**
 * @typedef {{plan: boolean, ticks: boolean, sessions: boolean, local: boolean}} Change
 * What changed: the plan itself (started, restored or erased), ticks, sessions; `local`
 * when this phone made the change, not another device or the clinic.
 */
export class PlanState {
  #open;
  #db = null;
  #loading = null;
  #listeners = new Set();
  #ticks = new Map(); // "day|item" -> latest event
  #sessions = new Map(); // session id -> latest event
  #meta = new Map();
  #outbox = 0;
  // Today as last drawn ({today, items, ...}), for the snapshot kept in step with ticks.
  #shownToday = null;
  // Local writes in order, so a sync answer stored meanwhile never hides a newer tap.
  #writes = 0;
  #writtenAt = new Map();
  plan = null;

  /** `open`: resolves with the connection (database.js database(), or a test's). */
  constructor(open) {
    this.#open = open;
  }

  /** Resolves with this owner once the database has been read (read once). */
  load() {
    this.#loading ||= this.#read().then(() => this);
    return this.#loading;
  }

  async #read() {
    const db = (this.#db = await this.#open());
    const tx = db.transaction(STORES, 'readonly');
    const meta = tx.objectStore('meta');
    const [plan, ticks, sessions, keys, values, outbox] = await Promise.all([
      tx.objectStore('plan').get('current'),
      tx.objectStore('ticks').getAll(),
      tx.objectStore('sessions').getAll(),
      meta.getAllKeys(),
      meta.getAll(),
      tx.objectStore('outbox').count(),
    ]);
    this.#fill(plan || null, ticks, sessions, new Map(keys.map((key, index) => [key, values[index]])), outbox);
    rememberPlanHere(Boolean(plan));
  }

  #fill(plan, ticks, sessions, meta, outbox) {
    this.plan = plan;
    this.#ticks = new Map(ticks.map((event) => [boxKey(event.day, event.item), event]));
    this.#sessions = new Map(sessions.map((event) => [event.session, event]));
    this.#meta = meta;
    this.#outbox = outbox;
    this.#shownToday = null;
  }

  /** Call `listener(change)` after every change; returns the way to stop. */
  subscribe(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #tell(change) {
    const full = {plan: false, ticks: false, sessions: false, local: true, ...change};
    for (const listener of [...this.#listeners]) listener(full);
  }

  /** Whether the box of `item` on `day` is ticked (undefined: never touched). */
  isDone(day, item) {
    return this.#ticks.get(boxKey(day, item))?.done;
  }

  /** Latest tick events for every item on the days from `firstDay` to `lastDay`. */
  ticksBetween(firstDay, lastDay) {
    return [...this.#ticks.values()].filter((event) => event.day >= firstDay && event.day <= lastDay);
  }

  /** The latest event of every session this phone knows (series.buildSeries merges them with the plan). */
  sessionEvents() {
    return [...this.#sessions.values()];
  }

  meta(key) {
    return this.#meta.get(key);
  }

  /** Events waiting for the server. */
  get outboxSize() {
    return this.#outbox;
  }

  /** Keep a setting of this phone's (a calendar link, reminder times). */
  async setMeta(key, value) {
    await this.load();
    await this.#db.put('meta', value, key);
    this.#meta.set(key, value);
  }

  /**
   * Record one tick: new state, outbox entry and counter in a single write-only
   * transaction; resolves when the database has committed it (no read first: a read
   * would wait for the next frame and push the commit past it).
   */
  async recordTick(day, item, done) {
    await this.load();
    const key = boxKey(day, item);
    const before = this.#ticks.get(key);
    const event = this.#stamp({day, item, done}, before);
    this.#ticks.set(key, event);
    this.#writtenAt.set(key, ++this.#writes);
    try {
      const tx = this.#db.transaction(['ticks', 'outbox', 'meta'], 'readwrite');
      tx.objectStore('meta').put(event.counter, 'counter');
      tx.objectStore('ticks').put(event);
      tx.objectStore('outbox').put(event);
      // Commit now rather than when the browser notices nothing more is queued.
      tx.commit?.();
      await tx.done;
    } catch (error) {
      if (this.#ticks.get(key) === event) this.#ticks.set(key, before);
      throw error;
    }
    this.#outbox += 1;
    if (day === this.#shownToday?.today) this.#keepSnapshot();
    this.#tell({ticks: true});
    return event;
  }

  /** Record one change to a session of the series ({session, day, time, status}), like a tick. */
  async recordSession(change) {
    await this.load();
    const event = this.#stamp(change, this.#sessions.get(change.session));
    const tx = this.#db.transaction(['sessions', 'outbox', 'meta'], 'readwrite');
    tx.objectStore('meta').put(event.counter, 'counter');
    // This phone's own clock, not the corrected one: Today compares it with the phone's hour.
    const loggedAt = Date.now();
    if (change.status === 'done') tx.objectStore('meta').put(loggedAt, 'sessionLoggedAt');
    tx.objectStore('sessions').put(event);
    tx.objectStore('outbox').put(event);
    this.#writtenAt.set(`session|${change.session}`, ++this.#writes);
    await tx.done;
    this.#sessions.set(change.session, event);
    if (change.status === 'done') this.#meta.set('sessionLoggedAt', loggedAt);
    this.#outbox += 1;
    this.#tell({sessions: true});
    return event;
  }

  /**
   * An event of this phone's: the next counter, and a timestamp from this phone's clock
   * corrected by the server's (lib/sync.js learnClock), at least one past the newest edit
   * of the same box or session so the latest tap wins the merge.
   */
  #stamp(fields, current) {
    const counter = (this.#meta.get('counter') || 0) + 1;
    this.#meta.set('counter', counter);
    const clock = this.#meta.get('clock') || {offset: 0, server: 0};
    const now = Math.max(Date.now() + clock.offset, clock.server);
    const ts = Math.max(now, (current?.ts || 0) + 1);
    return {id: crypto.randomUUID(), device: this.#meta.get('device'), counter, ts, ...fields};
  }

  /** Every event still waiting for the server, oldest first. */
  async pendingEvents(limit) {
    await this.load();
    const events = await this.#db.getAll('outbox');
    return events.sort((a, b) => a.counter - b.counter).slice(0, limit);
  }

  /**
   * Take in a sync's answer ({acknowledged, events, cursor, setAside, clock}: see
   * sync-answer.js).  Tells the views once if another device or the clinic changed
   * something; the phone's own events coming back change nothing on screen.
   * Resolves with how many ticks or sessions changed.
   */
  async applyAnswer(answer) {
    await this.load();
    const startedAt = this.#writes;
    const result = await storeAnswer(this.#db, answer);
    this.#outbox = Math.max(0, this.#outbox - result.removed);
    for (const [key, value] of Object.entries(result.meta)) this.#meta.set(key, value);
    let ticks = false;
    let sessions = false;
    for (const {event, own} of result.stored) {
      const isSession = 'session' in event;
      const key = isSession ? `session|${event.session}` : boxKey(event.day, event.item);
      // Tapped here while the answer was being stored: that tap was written after it.
      if ((this.#writtenAt.get(key) || 0) > startedAt) continue;
      const map = isSession ? this.#sessions : this.#ticks;
      const mapKey = isSession ? event.session : key;
      const current = map.get(mapKey);
      if (current && current.id !== event.id && !isLater(event, current)) continue;
      map.set(mapKey, event);
      if (own) continue;
      if (isSession) sessions = true;
      else ticks = true;
    }
    if (ticks && this.#shownToday) this.#keepSnapshot();
    if (ticks || sessions) this.#tell({ticks, sessions, local: false});
    return result.changed;
  }

  /**
   * Start this phone on a plan: the plan, a device id and credential, and nothing from
   * any earlier plan, in one transaction.  `meta` may carry {registered, cursor} (a plan
   * joined from another device); `contents` ({ticks, sessions, outbox, counter}) what a
   * restored file brings.
   */
  async startPlan(plan, device, meta = {}, {ticks = [], sessions = [], outbox = [], counter = 0} = {}) {
    await this.load();
    const values = {device: device.id, credential: device.credential, counter, cursor: 0, registered: false, ...meta};
    const tx = this.#db.transaction(STORES, 'readwrite');
    for (const name of ['ticks', 'sessions', 'outbox', 'meta']) tx.objectStore(name).clear();
    tx.objectStore('plan').put(plan, 'current');
    for (const [key, value] of Object.entries(values)) tx.objectStore('meta').put(value, key);
    for (const event of ticks) tx.objectStore('ticks').put(event);
    for (const event of sessions) tx.objectStore('sessions').put(event);
    for (const event of outbox) tx.objectStore('outbox').put(event);
    await tx.done;
    clearSnapshot();
    this.#fill(plan, ticks, sessions, new Map(Object.entries(values)), outbox.length);
    rememberPlanHere(true);
    this.#tell({plan: true, ticks: true, sessions: true});
  }

  /** Remove the plan and everything with it from this phone. */
  async erase() {
    await this.load();
    const tx = this.#db.transaction(STORES, 'readwrite');
    for (const name of STORES) tx.objectStore(name).clear();
    await tx.done;
    clearSnapshot();
    this.#fill(null, [], [], new Map(), 0);
    rememberPlanHere(false);
    this.#tell({plan: true, ticks: true, sessions: true});
  }

  /** Everything kept here, read from the database, for "Export my data" (backup.js). */
  async everything() {
    await this.load();
    const tx = this.#db.transaction(STORES, 'readonly');
    const [plan, ticks, sessions, outbox] = await Promise.all([
      tx.objectStore('plan').get('current'),
      tx.objectStore('ticks').getAll(),
      tx.objectStore('sessions').getAll(),
      tx.objectStore('outbox').getAll(),
    ]);
    return {plan, ticks, sessions, outbox, device: this.#meta.get('device'), credential: this.#meta.get('credential')};
  }

  /** From now on, in this tab, keep everything in session storage only (see ephemeral-db.js). */
  async useSharedDevice() {
    this.#db = await useSharedDeviceMode();
    clearSnapshot();
    this.#fill(null, [], [], new Map(), 0);
  }

  /**
   * Today as it was just drawn (display data only: heading, items, gates...): kept as
   * the snapshot the next open draws first, with the day's ticks from this owner.
   */
  rememberToday(model) {
    this.#shownToday = model;
    this.#keepSnapshot();
  }

  #keepSnapshot() {
    const model = this.#shownToday;
    saveSnapshot({...model, done: model.items.filter((item) => this.isDone(model.today, item.id)).map((item) => item.id)});
  }
}

let owner = null;

/** This page's owner of the plan's state, loaded. */
export function planState() {
  owner ||= new PlanState(database);
  return owner.load();
}

// Opening IndexedDB is the slowest step of opening the app offline: start it as soon as
// this module runs, not when Today first asks.
planState();
