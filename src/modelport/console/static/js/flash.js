// A one-time message for the next page shown ("Deleted the job ..."), kept in memory only.

let pending = null;

export function flash(text) {
  pending = text;
}

/** The message, once; null when there is none. */
export function takeFlash() {
  const text = pending;
  pending = null;
  return text;
}
