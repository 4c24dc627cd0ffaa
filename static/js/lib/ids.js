/** Random identifiers, base64url, from the browser's cryptographic generator. */

/** `bytes` random bytes as base64url text (16 bytes = 128 bits = 22 characters). */
export function randomId(bytes = 16) {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
