/*
 * Today's first decision, made before the page is first painted: a classic
 * script inline in <head> (its hash is in the CSP, see shell.csp_hash), so it
 * costs no request.  Keep it tiny.
 * - A phone with no plan here gets <html data-first-visit>: the stylesheet then
 *   shows the onboarding form that is already in the HTML, so a new client sees
 *   it without waiting for any module.  Today's script starts after that paint.
 * - A phone with a plan fetches Today's modules side by side at once
 *   (modulepreload) and runs Today's script once the page is parsed: at once if
 *   nothing is on screen yet, after the first frame if today-first-paint.js drew
 *   the day from the snapshot.
 * lib/snapshot.js keeps the flag read here in step with IndexedDB; if it is ever
 * wrong, today.js corrects the page once IndexedDB has answered.
 */
(function () {
  // The browser offers installation once per page load, maybe before Today's
  // modules run: keep the offer for the install component (start.js).
  window.addEventListener('beforeinstallprompt', function (event) {
    event.preventDefault();
    window.aftercareInstallOffer = event;
  });

  var KEY = 'aftercare:has-plan';
  var script = document.currentScript;
  var hasPlan = false;
  try {
    hasPlan = Boolean(localStorage.getItem(KEY) || sessionStorage.getItem(KEY));
  } catch (blocked) {
    // Storage turned off: the form shows, and Today follows if a plan turns up.
  }

  function add(tag, attributes) {
    var element = document.createElement(tag);
    for (var name in attributes) element.setAttribute(name, attributes[name]);
    document.head.appendChild(element);
  }
  var started = false;
  function startToday() {
    if (!started) add('script', {type: 'module', src: script.getAttribute('data-entry')});
    started = true;
  }

  if (hasPlan) {
    var modules = script.getAttribute('data-modules').split(' ');
    for (var i = 0; i < modules.length; i += 1) add('link', {rel: 'modulepreload', href: modules[i]});
    // Once the page is parsed.  If today-first-paint.js (at the end of the page) drew the
    // day from the snapshot, the modules run after the frame that shows it, not in
    // front of it (they took about 14 ms there), and take over the drawing then.
    document.addEventListener('DOMContentLoaded', function () {
      if (document.documentElement.getAttribute('data-first-paint') !== 'snapshot') return startToday();
      requestAnimationFrame(function () {
        setTimeout(startToday, 0);
      });
      setTimeout(startToday, 500); // a hidden tab has no frames
    });
    return;
  }
  document.documentElement.setAttribute('data-first-visit', '');
  // Once the form is on screen (the wait app.js's afterFirstPaint makes too; a
  // classic script cannot import it).
  var once = startToday;
  setTimeout(once, 500); // a hidden tab paints nothing; some browsers report no paints
  try {
    new PerformanceObserver(function (entries, observer) {
      if (!entries.getEntriesByName('first-contentful-paint').length) return;
      observer.disconnect();
      once();
    }).observe({type: 'paint', buffered: true});
  } catch (unsupported) {
    once();
  }
})();
