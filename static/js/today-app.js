// Entry point for Today, started by boot.js: Today first, since it is what the
// app is opened for, then the components every page has.
import {startToday} from './components/today.js';
import {startComponents} from './start.js';

startToday(document).finally(startComponents);
