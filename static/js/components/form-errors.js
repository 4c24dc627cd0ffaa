/**
 * A refused form's one message: shown beside the field it is about (so the
 * field and its message are on screen together), tied to it for screen
 * readers (aria-invalid, aria-describedby), with focus on that field.  A
 * message about no one field stays at the form's top and takes focus itself.
 * Every form of the phone's pages reports its errors through here.
 */

/**
 * @param {HTMLFormElement} form  holds one `[data-form-error]` element
 * @param {string} message
 * @param {string} [fieldName]  the form control the message is about
 */
export function showFormError(form, message, fieldName = '') {
  clearFormError(form);
  const error = form.querySelector('[data-form-error]');
  markHome(error);
  error.id ||= `${form.dataset.formName || 'form'}-error`;
  error.textContent = message;
  error.dataset.field = fieldName;
  error.hidden = false;
  const control = fieldName ? firstControl(form, fieldName) : null;
  if (!control) {
    home(error);
    error.tabIndex = -1;
    error.scrollIntoView({block: 'center'});
    error.focus({preventScroll: true});
    return;
  }
  // Just above the field's own box: a long form's top can be a screen away.
  const box = control.closest('.field, fieldset, .choice') || control;
  box.before(error);
  for (const each of controls(form, fieldName)) {
    each.setAttribute('aria-invalid', 'true');
    each.setAttribute('aria-describedby', [each.getAttribute('aria-describedby'), error.id].filter(Boolean).join(' '));
  }
  error.scrollIntoView({block: 'center'});
  control.focus({preventScroll: true});
}

/** Hide the message and untie it from its field (the form is about to be tried again). */
export function clearFormError(form) {
  const error = form.querySelector('[data-form-error]');
  if (!error) return;
  for (const each of form.querySelectorAll('[aria-invalid]')) {
    each.removeAttribute('aria-invalid');
    const rest = (each.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && id !== error.id);
    if (rest.length) each.setAttribute('aria-describedby', rest.join(' '));
    else each.removeAttribute('aria-describedby');
  }
  error.hidden = true;
  error.textContent = '';
  error.dataset.field = '';
}

/** Hide the message once the field it is about is answered again. */
export function clearWhenChanged(form) {
  form.addEventListener('change', (event) => {
    const error = form.querySelector('[data-form-error]');
    if (error && !error.hidden && event.target.name === error.dataset.field) clearFormError(form);
  });
}

function controls(form, name) {
  const found = form.elements.namedItem(name);
  if (!found) return [];
  // A radio group is a RadioNodeList; one control is an element.
  return found instanceof RadioNodeList ? [...found] : [found];
}

function firstControl(form, name) {
  return controls(form, name).find((control) => !control.disabled && control.offsetParent !== null) || null;
}

// Where each message stood in the page as served: a message about the whole form goes back there.
const homes = new WeakMap();

function markHome(error) {
  if (homes.has(error)) return;
  const marker = document.createComment(' form error ');
  error.before(marker);
  homes.set(error, marker);
}

function home(error) {
  homes.get(error).after(error);
}
