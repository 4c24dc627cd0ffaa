/**
 * Install help.  Chromium: keep the browser's install prompt and show our
 * "Install app" button instead.  iOS Safari (which has no prompt): show the
 * Share -> Add to Home Screen steps and why installing keeps data safe.
 * When the app already runs installed (standalone), everything stays hidden.
 */
import {persistStorage} from '../lib/persist.js';

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
  if (isStandalone()) return;
  const dismissed = Boolean(localStorage.getItem(DISMISSED_KEY));
  // Cards with a "Not now" button (on Today) stay away once dismissed.
  const cards = (selector) =>
    [...root.querySelectorAll(selector)].filter(
      (card) => !(dismissed && card.querySelector('[data-install-dismiss]')),
    );
  const reveal = (selector, show) => cards(selector).forEach((card) => (card.hidden = !show));
  let deferredPrompt = null;

  const offer = (event) => {
    event.preventDefault();
    deferredPrompt = event;
    reveal('[data-install-offer]', true);
  };
  window.addEventListener('beforeinstallprompt', offer);
  if (earlyOffer) offer(earlyOffer);
  window.addEventListener('appinstalled', () => {
    deferredPrompt = null;
    reveal('[data-install-offer]', false);
    persistStorage();
  });
  root.querySelectorAll('[data-install-button]').forEach((button) =>
    button.addEventListener('click', async () => {
      if (!deferredPrompt) return;
      deferredPrompt.prompt();
      await deferredPrompt.userChoice;
      deferredPrompt = null;
      reveal('[data-install-offer]', false);
    }),
  );
  root.querySelectorAll('[data-install-dismiss]').forEach((button) =>
    button.addEventListener('click', () => {
      localStorage.setItem(DISMISSED_KEY, new Date().toISOString());
      button.closest('section').hidden = true;
    }),
  );
  if (isIosSafari()) reveal('[data-ios-install]', true);
}
