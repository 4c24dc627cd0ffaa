/*
 * Today's first decision, made before the page is first painted (a classic,
 * blocking script in <head>, so keep it tiny).  A phone with no plan here gets
 * <html data-first-visit>: the stylesheet then shows the onboarding form that is
 * already in the HTML, so a new client sees it without waiting for any module.
 * A phone with a plan starts fetching Today's modules side by side at once
 * (modulepreload), since Today's checklist is drawn by them.
 *
 * lib/snapshot.js keeps the flag read here in step with IndexedDB; if it is ever
 * wrong, today.js corrects the page once IndexedDB has answered.
 */
(function () {
  var KEY = 'aftercare:has-plan';
  var script = document.currentScript;
  var hasPlan = false;
  try {
    hasPlan = Boolean(localStorage.getItem(KEY) || sessionStorage.getItem(KEY));
  } catch (blocked) {
    // Storage turned off: the form shows, and Today follows if a plan turns up.
  }
  if (!hasPlan) {
    document.documentElement.setAttribute('data-first-visit', '');
    return;
  }
  var modules = script.getAttribute('data-modules').split(' ');
  for (var i = 0; i < modules.length; i += 1) {
    var link = document.createElement('link');
    link.rel = 'modulepreload';
    link.href = modules[i];
    document.head.appendChild(link);
  }
})();
