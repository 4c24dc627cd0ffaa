// Entry point for every page: start each component.  Modules are deferred,
// so the DOM is ready when this runs.
import {startInstallHelp} from './components/install.js';
import {startToday} from './components/today.js';
import {startServiceWorker} from './sw-client.js';

startInstallHelp(document);
startServiceWorker();
startToday(document);
