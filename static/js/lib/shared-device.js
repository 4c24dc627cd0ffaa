/**
 * "Shared device" mode: for a borrowed or shared phone or computer, the app
 * keeps the plan only for as long as the tab is open.  The choice itself is
 * kept in sessionStorage, which the browser empties when the tab closes.
 */
const FLAG = 'aftercare:shared-device';

export function isSharedDevice() {
  try {
    return sessionStorage.getItem(FLAG) === '1';
  } catch {
    return false;
  }
}

export function markSharedDevice() {
  sessionStorage.setItem(FLAG, '1');
}
