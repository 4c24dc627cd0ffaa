/**
 * The database in shared-device mode: the same calls plan-state.js and sync-answer.js
 * make of idb (get, put, delete, clear, getAll, getAllKeys, count, transaction) over maps saved in
 * sessionStorage, which the browser empties when the tab closes.  Nothing of
 * the plan reaches IndexedDB or localStorage.
 */
const KEY = 'aftercare:shared-db';
// Each store's key path, as in database.js; null means the key is given with put().
const KEY_PATHS = {plan: null, ticks: ['day', 'item'], sessions: 'session', outbox: 'id', meta: null};

const encode = (key) => JSON.stringify(key);
const copy = (value) => (value === undefined ? undefined : structuredClone(value));

export function openEphemeral() {
  let saved = {};
  try {
    saved = JSON.parse(sessionStorage.getItem(KEY) || '{}');
  } catch {
    // Unreadable: start empty, as after the tab was closed.
  }
  const maps = Object.fromEntries(Object.keys(KEY_PATHS).map((name) => [name, new Map(saved[name] || [])]));
  const save = () => {
    const plain = Object.fromEntries(Object.entries(maps).map(([name, map]) => [name, [...map]]));
    sessionStorage.setItem(KEY, JSON.stringify(plain));
  };
  const objectStore = (name) => {
    const map = maps[name];
    const path = KEY_PATHS[name];
    const sorted = () => [...map.values()].sort((a, b) => indexedDB.cmp(a.key, b.key));
    const keyOf = (value, key) => (path === null ? key : Array.isArray(path) ? path.map((p) => value[p]) : value[path]);
    return {
      get: async (key) => copy(map.get(encode(key))?.value),
      put: async (value, key) => {
        const realKey = keyOf(value, key);
        map.set(encode(realKey), {key: realKey, value: copy(value)});
      },
      delete: async (key) => void map.delete(encode(key)),
      clear: async () => map.clear(),
      count: async () => map.size,
      getAll: async () => sorted().map((entry) => copy(entry.value)),
      getAllKeys: async () => sorted().map((entry) => copy(entry.key)),
    };
  };
  const database = {
    transaction: () => ({
      objectStore,
      commit() {},
      // Read when the caller awaits it, after its last write: then the writes are saved.
      get done() {
        return Promise.resolve().then(save);
      },
    }),
  };
  for (const method of ['get', 'getAll', 'count']) {
    database[method] = (name, ...rest) => objectStore(name)[method](...rest);
  }
  database.put = async (name, ...rest) => {
    await objectStore(name).put(...rest);
    save();
  };
  return database;
}
