/**
 * The merge rule, as on the server (pwa/care/merge.py): per day and item the
 * event with the greatest (ts, device, counter, id) wins.  Same millisecond
 * on one device: the counter decides; on two devices: the device id does.
 * Both run the vectors in tests/vectors/merge.json.
 */

const ORDER = ['ts', 'device', 'counter', 'id'];

/** Whether `a` outranks `b` (the later writer, which the merge keeps). */
export function isLater(a, b) {
  for (const key of ORDER) {
    if (a[key] !== b[key]) return a[key] > b[key];
  }
  // Two events under one id (validation never lets that happen): their content decides, as
  // on the server, so that even then every replica keeps the same one in any order.
  const [x, y] = [content(a), content(b)];
  for (let index = 0; index < x.length; index += 1) {
    if (x[index] !== y[index]) return x[index] > y[index];
  }
  return false;
}

const content = (event) => ('session' in event ? [event.day, event.time || '', event.status] : [event.done ? 1 : 0]);
