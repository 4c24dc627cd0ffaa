// The one place that names idb's versioned folder (copied there by `make setup`
// from the pinned npm package): an upgrade changes this line only.
export {openDB} from '../../vendor/idb-v8.0.4/index.js';
