/**
 * The only module that calls fetch(): every request to the server goes
 * through here, so errors and offline behaviour are handled in one place.
 */

/** The expanded schedule of the protocol new plans start with (precached). */
export async function getSchedule() {
  const response = await fetch('/protocol.json');
  if (!response.ok) throw new Error(`The aftercare protocol could not be loaded (${response.status}).`);
  return response.json();
}
