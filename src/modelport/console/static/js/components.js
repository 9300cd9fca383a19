// Pieces every view uses: the status badge, the progress bar, the error notice, a copyable command,
// the confirmation dialog and the screen-reader announcer.

import { h, uniqueId } from "./dom.js";
import { formatBytes, percent } from "./format.js";

const STATUS = {
  PENDING: { icon: "◷", label: "PENDING", hint: "queued, waiting for a worker" },
  RUNNING: { icon: "↻", label: "RUNNING", hint: "being checked and copied" },
  SUCCESSED: { icon: "✓", label: "SUCCESSED", hint: "imported" },
  FAILED: { icon: "✕", label: "FAILED", hint: "not imported" },
};

/** The status as text with an icon; colour only repeats what the text says. */
export function statusBadge(status) {
  const known = STATUS[status] ?? { icon: "?", label: String(status ?? "UNKNOWN"), hint: "" };
  return h(
    "span",
    { class: `badge badge--${known.label.toLowerCase()}`, title: known.hint || null, dataset: { status: known.label } },
    h("span", { "aria-hidden": "true", class: "badge-icon" }, known.icon),
    known.label,
  );
}

export const isFinished = (status) => status === "SUCCESSED" || status === "FAILED";

/** Phase, bytes copied and a <progress>; `progress` is the report route's live `progress` object. */
export function progressView(progress, label) {
  const done = progress?.bytes_done ?? 0;
  const total = progress?.bytes_total ?? null;
  const share = percent(done, total);
  const phase = progress?.phase ?? (progress?.status === "PENDING" ? "queued" : "starting");
  const amounts = total ? `${formatBytes(done)} of ${formatBytes(total)} (${share}%)` : done ? formatBytes(done) : "";
  const attempts = progress?.attempts > 1 ? `attempt ${progress.attempts}` : "";
  const bar = h("progress", { class: "bar", "aria-label": label, max: total || null, value: total ? done : null });
  return h(
    "div",
    { class: "progress", dataset: { bytesDone: String(done) } },
    h(
      "p",
      { class: "progress-line" },
      h("span", { class: "phase" }, phase),
      amounts && h("span", { class: "progress-amount" }, amounts),
      attempts && h("span", { class: "progress-attempts" }, attempts),
    ),
    bar,
  );
}

const ERROR_TITLES = {
  InvalidApiKey: "The server refused the API key",
  NotFound: "Not found",
  NetworkError: "Could not reach the server",
  InvalidParameter: "The request was refused",
  OperationDenied: "Not allowed right now",
  InternalError: "The server failed",
};

/**
 * An ApiError as a notice: a title, the server's own sentence, its code and request id, and
 * `actions` (nodes) saying what to do next.
 */
export function errorNotice(error, { title = null, actions = [] } = {}) {
  const code = error?.code ?? "Error";
  return h(
    "div",
    { class: "notice notice--error", role: "alert", dataset: { code } },
    h("h2", { class: "notice-title" }, title ?? ERROR_TITLES[code] ?? "Something went wrong"),
    h("p", { class: "notice-message" }, error?.message ?? String(error)),
    h(
      "p",
      { class: "notice-meta" },
      h("code", {}, code),
      error?.requestId ? [" · request id ", h("code", {}, error.requestId)] : null,
    ),
    actions.length ? h("div", { class: "actions" }, actions) : null,
  );
}

/**
 * What a person can do about `error`: change a refused key, or (given `retry`) try again after a
 * network or server failure. Views add their own (back to the jobs, say).
 */
export function recoveryActions(error, { retry = null } = {}) {
  const actions = [];
  if (error?.code === "InvalidApiKey") actions.push(h("a", { href: "#/key", class: "button button--primary" }, "Change key"));
  if (retry && ["NetworkError", "InternalError", "BadResponse"].includes(error?.code)) {
    actions.push(h("button", { type: "button", class: "button", onclick: retry }, "Try again"));
  }
  return actions;
}

/** A shell command with a Copy button; `text` never holds the key ($KEY stands in for it). */
export function commandBlock(title, text) {
  const headingId = uniqueId("command");
  const status = h("span", { class: "copy-status", role: "status" });
  const code = h("code", {}, text);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = "Copied.";
    } catch {
      // No clipboard (plain http on another host is not a secure context): select it for Ctrl+C.
      const range = document.createRange();
      range.selectNodeContents(code);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      status.textContent = "Selected: press Ctrl+C to copy.";
    }
  };
  return h(
    "div",
    { class: "command" },
    h(
      "div",
      { class: "command-head" },
      h("h3", { id: headingId }, title),
      h("button", { type: "button", class: "button button--small", "aria-describedby": headingId, onclick: copy }, "Copy"),
      status,
    ),
    h("pre", { tabindex: "0", "aria-labelledby": headingId }, code),
  );
}

/** A modal confirmation; resolves true only when the confirm button is pressed (Esc keeps things). */
export function confirmDialog({ title, body, confirmLabel, cancelLabel = "Keep it" }) {
  return new Promise((resolve) => {
    const titleId = uniqueId("dialog-title");
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-labelledby": titleId },
      h("h2", { id: titleId }, title),
      body.map((paragraph) => h("p", {}, paragraph)),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "button", onclick: () => dialog.close("cancel") }, cancelLabel),
        h("button", { type: "button", class: "button button--danger", onclick: () => dialog.close("confirm") }, confirmLabel),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Say `text` to screen readers (the polite live region in index.html). */
export function announce(text) {
  const region = document.getElementById("announcer");
  if (region) region.textContent = text;
}
