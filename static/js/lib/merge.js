/**
 * The merge rule, as on the server (pwa/care/merge.py): per day and item the
 * event with the greatest (ts, device, counter, id) wins.  Same millisecond
 * on one device: the counter decides; on two devices: the device id does.
 */

export function isLater(a, b) {
  for (const key of ['ts', 'device', 'counter', 'id']) {
    if (a[key] !== b[key]) return a[key] > b[key];
  }
  return false;
}
