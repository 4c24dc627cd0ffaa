/** The shared vectors folder (tests/vectors/), which the Python tests read too. */
import {readFileSync} from 'node:fs';

export function vectors(name) {
  return JSON.parse(readFileSync(new URL(`../vectors/${name}.json`, import.meta.url), 'utf8')).cases;
}
