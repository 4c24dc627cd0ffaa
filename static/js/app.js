// Entry point for every page: start each component.  Modules are deferred,
// so the DOM is ready when this runs; each component does nothing on pages
// without its elements.
import {startDevices} from './components/devices.js';
import {startInstallHelp} from './components/install.js';
import {startJoin} from './components/join.js';
import {startSyncStatus} from './components/sync-status.js';
import {startToday} from './components/today.js';
import {startServiceWorker} from './sw-client.js';

startInstallHelp(document);
startServiceWorker();
startToday(document);
startDevices(document);
startJoin(document);
startSyncStatus(document);
