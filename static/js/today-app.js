// Entry point for Today, started by its boot script: Today first, since it is
// what the app is opened for, then (loaded only then) the components every page has.
import {startToday} from './components/today.js';

// The boot script adds this module once the page is parsed (on a first visit, after the
// form is painted, maybe before that): wait for the page to be whole either way.
if (document.readyState === 'loading') {
  await new Promise((resolve) => document.addEventListener('DOMContentLoaded', resolve, {once: true}));
}
startToday(document).finally(async () => {
  const {startComponents} = await import('./start.js');
  // The boot script kept any install offer made before this module ran.
  startComponents(() => window.aftercareInstallOffer);
});
