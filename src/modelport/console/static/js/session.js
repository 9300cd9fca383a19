// The API key, kept in this tab's sessionStorage only: closing the tab forgets it, other tabs never
// see it, and it is never written to a URL, localStorage, a cookie or the console log.

const STORAGE_KEY = "modelport.apiKey";

export function getKey() {
  try {
    return sessionStorage.getItem(STORAGE_KEY) || null;
  } catch {
    return null; // storage disabled: the console asks for the key again, as if the tab were new
  }
}

export function setKey(key) {
  sessionStorage.setItem(STORAGE_KEY, key);
}

export function forgetKey() {
  sessionStorage.removeItem(STORAGE_KEY);
}
