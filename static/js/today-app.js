// Entry point for Today, started by its boot script: Today first, since it is
// what the app is opened for, then (loaded only then) the components every page has.
import {startToday} from './components/today.js';

startToday(document).finally(async () => {
  const {startComponents} = await import('./start.js');
  // The boot script kept any install offer made before this module ran.
  startComponents(window.aftercareInstallOffer);
});
