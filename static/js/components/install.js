/**
 * Install help.  Chromium: keep the browser's install prompt and show our
 * "Install app" button instead.  iOS Safari (which has no prompt): show the
 * Share -> Add to Home Screen steps and why installing keeps data safe.
 * On Today it is one line under the day card, once she has ticked something
 * (she has something worth keeping), until installed or dismissed; Settings
 * keeps its card.  When the app already runs installed (standalone),
 * everything stays hidden.  What was decided is on <html data-install>
 * ("installed", "dismissed", "waiting", "offered", "ios"), for tests and styles.
 */
import {persistStorage} from '../lib/persist.js';
import {planState} from '../lib/plan-state.js';

const DISMISSED_KEY = 'aftercare:install-dismissed';

function isStandalone() {
  return window.matchMedia('(display-mode: standalone)').matches || navigator.standalone === true;
}

function isIosSafari() {
  const ua = navigator.userAgent;
  const ios = /iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1);
  return ios && /Safari/.test(ua) && !/CriOS|FxiOS|EdgiOS/.test(ua);
}

/**
 * @param {Document} root
 * @param {Event|null} earlyOffer  a beforeinstallprompt that fired before this loaded
 */
export function startInstallHelp(root, earlyOffer = null) {
  const state = (value) => (document.documentElement.dataset.install = value);
  if (isStandalone()) return void state('installed');
  const line = root.querySelector('[data-install-line]');
  const ios = isIosSafari();
  let dismissed = Boolean(localStorage.getItem(DISMISSED_KEY));
  let deferredPrompt = null;

  const showLine = async () => {
    if (!line) return;
    // Worth offering once she has ticked something: then there is something to keep.
    const used = Boolean((await planState()).meta('counter'));
    line.hidden = dismissed || !used || !(deferredPrompt || ios);
    line.querySelector('[data-install-line-offer]').hidden = !deferredPrompt;
    line.querySelector('[data-install-line-ios]').hidden = !ios || Boolean(deferredPrompt);
  };
  const showCards = () => {
    for (const card of root.querySelectorAll('[data-install-offer]')) card.hidden = !deferredPrompt;
    for (const card of root.querySelectorAll('[data-ios-install]')) card.hidden = !ios;
  };
  const show = () => {
    showCards();
    state(dismissed && line ? 'dismissed' : deferredPrompt ? 'offered' : ios ? 'ios' : 'waiting');
    return showLine();
  };

  const offer = (event) => {
    event.preventDefault();
    deferredPrompt = event;
    show();
  };
  window.addEventListener('beforeinstallprompt', offer);
  if (earlyOffer) offer(earlyOffer);
  window.addEventListener('appinstalled', () => {
    deferredPrompt = null;
    show();
    state('installed');
    persistStorage();
  });
  root.querySelectorAll('[data-install-button]').forEach((button) =>
    button.addEventListener('click', async () => {
      if (!deferredPrompt) return;
      deferredPrompt.prompt();
      await deferredPrompt.userChoice;
      deferredPrompt = null;
      show();
    }),
  );
  root.querySelectorAll('[data-install-dismiss]').forEach((button) =>
    button.addEventListener('click', () => {
      localStorage.setItem(DISMISSED_KEY, new Date().toISOString());
      dismissed = true;
      show();
    }),
  );
  planState().then((state) => state.subscribe((change) => change.local && change.ticks && showLine()));
  return show();
}
