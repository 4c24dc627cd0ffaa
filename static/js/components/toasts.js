/**
 * Toasts: short, calm messages above the tab bar, optionally with buttons.
 * They sit in the page's polite live region, so screen readers announce them.
 */

/**
 * Show a toast and resolve with the label of the button tapped (or null).
 * @param {string} message
 * @param {{buttons?: string[], duration?: number}} options
 *   buttons: labels, the first is the main action; duration: ms, 0 = stays.
 * @returns {Promise<string|null>}
 */
export function showToast(message, {buttons = [], duration = 0} = {}) {
  const region = document.querySelector('[data-toasts]');
  const toast = document.createElement('div');
  toast.className = 'toast';
  const text = document.createElement('p');
  text.className = 'toast__text';
  text.textContent = message;
  toast.append(text);
  return new Promise((resolve) => {
    const close = (answer) => {
      toast.remove();
      resolve(answer);
    };
    buttons.forEach((label, index) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = index === 0 ? 'toast__button' : 'toast__button toast__button--quiet';
      button.textContent = label;
      button.addEventListener('click', () => close(label));
      toast.append(button);
    });
    region.append(toast);
    if (duration) setTimeout(() => close(null), duration);
  });
}
