// Entry point for every page but Today (Today's boot script starts today-app.js).
// These pages are server-rendered: their components load only after the first
// paint, so none of them stands between a page and its content.

// The browser offers installation once per page load, possibly before the
// install component has loaded: keep the offer for it.
let installOffer = null;
window.addEventListener('beforeinstallprompt', (event) => {
  event.preventDefault();
  installOffer = event;
});

/** Resolves once the page's first content is on screen (its paint timing entry). */
function afterFirstPaint() {
  return new Promise((resolve) => {
    // A hidden tab paints nothing, and not every browser reports paints: start anyway.
    setTimeout(resolve, 500);
    try {
      new PerformanceObserver((entries, observer) => {
        if (!entries.getEntriesByName('first-contentful-paint').length) return;
        observer.disconnect();
        resolve();
      }).observe({type: 'paint', buffered: true});
    } catch {
      resolve();
    }
  });
}

afterFirstPaint()
  .then(() => import('./start.js'))
  .then(({startComponents}) => startComponents(() => installOffer));
