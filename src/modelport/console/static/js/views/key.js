// Pasting an API key. The key is checked against the list route before it is kept, so a wrong key
// is answered here, next to the field, with the server's own InvalidApiKey sentence.

import { api, ApiError, IMPORT } from "../api.js";
import { errorNotice } from "../components.js";
import { h, replaceChildren } from "../dom.js";
import { setKey } from "../session.js";

export function renderKeyView(container, { signal, onSaved }) {
  const errorId = "api-key-error";
  const hintId = "api-key-hint";
  const input = h("input", {
    id: "api-key",
    name: "api-key",
    type: "password",
    class: "input",
    autocomplete: "off",
    spellcheck: "false",
    autocapitalize: "off",
    "aria-describedby": hintId,
  });
  const fieldError = h("p", { id: errorId, class: "field-error", hidden: true });
  const formNotice = h("div", { class: "form-notice" });
  const submit = h("button", { type: "submit", class: "button button--primary" }, "Use this key");

  const showFieldError = (message) => {
    fieldError.textContent = message;
    fieldError.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", `${errorId} ${hintId}`);
    input.focus();
  };

  const onSubmit = async (event) => {
    event.preventDefault();
    fieldError.hidden = true;
    input.removeAttribute("aria-invalid");
    input.setAttribute("aria-describedby", hintId);
    replaceChildren(formNotice);
    const key = input.value.trim();
    if (!key) {
      showFieldError("Paste a key first: it looks like sk- followed by 32 or more characters.");
      return;
    }
    submit.disabled = true;
    submit.textContent = "Checking…";
    try {
      await api("GET", IMPORT, { query: { page_size: 1 }, signal, key });
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.code === "InvalidApiKey") {
        showFieldError(`${error.message} (InvalidApiKey)`);
      } else {
        replaceChildren(formNotice, errorNotice(error));
      }
      return;
    } finally {
      submit.disabled = false;
      submit.textContent = "Use this key";
    }
    setKey(key);
    input.value = "";
    onSaved();
  };

  replaceChildren(
    container,
    h(
      "section",
      { class: "narrow", "aria-labelledby": "key-title" },
      h("h1", { id: "key-title", tabindex: "-1" }, "Connect with an API key"),
      h(
        "p",
        {},
        "The console calls this server's public API with your key, exactly as curl or the modelport CLI would. ",
        "The key is kept in this browser tab only (sessionStorage): closing the tab forgets it, and it is never put in an address or a log.",
      ),
      h(
        "form",
        { class: "form", onsubmit: onSubmit, novalidate: true },
        h(
          "div",
          { class: "field" },
          h("label", { for: "api-key" }, "API key"),
          h("p", { id: hintId, class: "hint" }, "Starts with sk-. It is checked with the server before it is used."),
          input,
          fieldError,
        ),
        formNotice,
        h("div", { class: "actions" }, submit),
      ),
      h(
        "div",
        { class: "help" },
        h("h2", {}, "No key yet?"),
        h("p", {}, "On the machine running modelport, create one for your workspace (the key is the last line printed):"),
        h("pre", { tabindex: "0" }, h("code", {}, "modelport keys create --workspace default")),
        h("p", {}, "On its first start, ", h("code", {}, "modelport serve"), " also prints a key once."),
      ),
    ),
  );
}
