/**
 * Ask the browser to keep this app's storage even under storage pressure.
 * Called after install and after the first saved data; harmless to repeat.
 * @returns {Promise<boolean>} whether storage is persistent
 */
export async function persistStorage() {
  if (!navigator.storage || !navigator.storage.persist) return false;
  return (await navigator.storage.persisted()) || navigator.storage.persist();
}
