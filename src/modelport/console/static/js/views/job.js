// One job: for a FAILED job, what failed comes first (file, tensor, rule, fix), then the fields of
// GET job, the rest of the report, delete (and cancel, where the server has it) and the same job
// as curl and modelport commands. The page follows an unfinished job until it ends.

import { api, IMPORT, jobPath, serverHas } from "../api.js";
import {
  announce,
  commandBlock,
  confirmDialog,
  errorNotice,
  isFinished,
  progressView,
  recoveryActions,
  statusBadge,
} from "../components.js";
import { h, replaceChildren } from "../dom.js";
import { formatBytes, formatTime } from "../format.js";
import { repeat } from "../poller.js";
import { flash } from "../flash.js";
import { failurePanel, reportSections } from "../report.js";
import { navigate } from "../router.js";

const POLL_MS = 2000;
const CANCEL_ROUTE = `${IMPORT}/{job_id}/cancel`;

function fact(label, value, key) {
  return h("div", { dataset: { key } }, h("dt", {}, label), h("dd", {}, value));
}

function detailsSection(job, output) {
  const storage = job.storage_info ?? {};
  return h(
    "section",
    { class: "panel", "aria-labelledby": "details-title" },
    h("h2", { id: "details-title" }, "Job"),
    h(
      "dl",
      { class: "facts facts--stacked" },
      fact("Status", statusBadge(job.status), "status"),
      fact("Job id", h("code", {}, job.job_id), "job_id"),
      fact("Model name", h("code", {}, job.model_name), "model_name"),
      fact("Display name", job.display_name, "display_name"),
      fact("Base model", output.base_model ?? "—", "base_model"),
      fact("Weight type", job.weight_type ?? output.weight_type ?? "—", "weight_type"),
      fact("Bucket", h("code", {}, storage.bucket_name ?? "—"), "bucket_name"),
      fact("Object key", h("code", {}, storage.object_key ?? "—"), "object_key"),
      fact("Created", h("time", { datetime: job.gmt_create }, formatTime(job.gmt_create)), "gmt_create"),
      output.progress?.attempts ? fact("Attempts", String(output.progress.attempts), "attempts") : null,
      job.error_code ? fact("Error", job.error_code, "error_code") : null,
    ),
  );
}

function commandsSection(job) {
  const origin = window.location.origin;
  const path = `${origin}${jobPath(job.job_id)}`;
  const cli = isFinished(job.status)
    ? `MODELPORT_API_KEY=$KEY modelport report --job-id ${job.job_id} --base-url ${origin}`
    : `MODELPORT_API_KEY=$KEY modelport watch --job-id ${job.job_id} --follow --base-url ${origin}`;
  return h(
    "section",
    { class: "panel", "aria-labelledby": "commands-title" },
    h("h2", { id: "commands-title" }, "The same job from a terminal"),
    h("p", { class: "muted" }, h("code", {}, "$KEY"), " stands for your API key (set it first: ", h("code", {}, "KEY=sk-…"), "); the console never shows it."),
    commandBlock("curl: the job", `curl -s ${path} -H "Authorization: Bearer $KEY"`),
    commandBlock("curl: its report", `curl -s ${path}/report -H "Authorization: Bearer $KEY"`),
    commandBlock(isFinished(job.status) ? "modelport: its report" : "modelport: follow it", cli),
  );
}

function openingPanel(job, output) {
  if (job.status === "FAILED") return failurePanel(output, { title: "Why it failed", fallback: job.error_code });
  if (job.status === "SUCCESSED") {
    const accepted = (output.files ?? []).filter((file) => file.status === "accepted");
    const bytes = accepted.reduce((sum, file) => sum + (file.size ?? 0), 0);
    return h(
      "section",
      { class: "success", "aria-labelledby": "success-title" },
      h("h2", { id: "success-title" }, "Imported"),
      h("p", {}, "Published to the model store as ", h("code", {}, job.model_name), `: ${accepted.length} file${accepted.length === 1 ? "" : "s"}, ${formatBytes(bytes)}, every check passed.`),
    );
  }
  return h(
    "section",
    { class: "panel live", "aria-labelledby": "progress-title" },
    h("h2", { id: "progress-title" }, "Progress"),
    progressView(output.progress, "Import progress"),
    h("p", { class: "muted" }, "This page follows the job while it is open; the report appears when it ends."),
  );
}

function actionsBar(job, { signal, rerender }) {
  const notice = h("div", { class: "action-notice" });
  const finished = isFinished(job.status);
  const reasonId = "delete-reason";
  const showError = (error) =>
    replaceChildren(
      notice,
      errorNotice(error, { actions: error.code === "NotFound" ? [h("a", { href: "#/jobs", class: "button" }, "Back to the jobs")] : [] }),
    );

  const onDelete = async () => {
    const name = job.display_name || job.model_name;
    const confirmed = await confirmDialog({
      title: "Delete this job?",
      body: [
        job.status === "SUCCESSED"
          ? `The job “${name}” and its imported model ${job.model_name} will be deleted from the model store.`
          : `The job “${name}” will be deleted (nothing was imported for it).`,
        "This cannot be undone.",
      ],
      confirmLabel: job.status === "SUCCESSED" ? "Delete job and model" : "Delete job",
    });
    if (!confirmed || signal.aborted) return;
    try {
      await api("DELETE", jobPath(job.job_id), { signal });
    } catch (error) {
      if (!signal.aborted) showError(error);
      return;
    }
    flash(`Deleted the job “${name}” (${job.model_name}).`);
    navigate("/jobs");
  };

  const onCancel = async () => {
    const confirmed = await confirmDialog({
      title: "Cancel this import?",
      body: ["The worker stops the import; nothing is published.", "This cannot be undone."],
      confirmLabel: "Cancel the import",
    });
    if (!confirmed || signal.aborted) return;
    try {
      await api("POST", `${jobPath(job.job_id)}/cancel`, { signal });
    } catch (error) {
      if (!signal.aborted) showError(error);
      return;
    }
    rerender();
  };

  const cancelSlot = h("span", { class: "cancel-slot" });
  if (!finished) {
    serverHas("POST", CANCEL_ROUTE).then((has) => {
      if (has && !signal.aborted) {
        replaceChildren(cancelSlot, h("button", { type: "button", class: "button", onclick: onCancel }, "Cancel import…"));
      }
    });
  }
  return h(
    "div",
    { class: "job-actions" },
    h(
      "div",
      { class: "actions" },
      h(
        "button",
        {
          type: "button",
          class: "button button--danger",
          disabled: !finished,
          "aria-describedby": finished ? null : reasonId,
          onclick: onDelete,
        },
        "Delete…",
      ),
      cancelSlot,
    ),
    finished
      ? null
      : h(
          "p",
          { id: reasonId, class: "action-reason" },
          `Delete is unavailable while the job is ${job.status}: only SUCCESSED or FAILED jobs can be deleted. It becomes available when the job ends.`,
        ),
    notice,
  );
}

function render(container, output, context) {
  const job = output.job;
  const name = job.display_name || job.model_name;
  const pending = !isFinished(job.status);
  replaceChildren(
    container,
    h(
      "nav",
      { class: "breadcrumb", "aria-label": "Breadcrumb" },
      h("a", { href: "#/jobs" }, "Jobs"),
      h("span", { "aria-hidden": "true" }, " / "),
      h("span", { "aria-current": "page" }, name),
    ),
    h(
      "header",
      { class: "job-head" },
      h("div", { class: "job-title" }, h("h1", { id: "job-title", tabindex: "-1" }, name), statusBadge(job.status)),
      h("p", { class: "muted" }, h("code", {}, job.model_name), ` · ${output.base_model ?? "?"} · ${job.weight_type ?? output.weight_type ?? "?"}`),
      actionsBar(job, context),
    ),
    h(
      "div",
      { class: "job-layout" },
      h("div", { class: "job-main" }, openingPanel(job, output), reportSections(output, { pending })),
      h("aside", { class: "job-side", "aria-label": "Job details and commands" }, detailsSection(job, output), commandsSection(job)),
    ),
  );
}

/** The id as typed in the address; a malformed %-escape is kept as it is (the server says NotFound). */
function decodeSegment(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function renderJobView(container, { match, signal, rerender }) {
  const jobId = decodeSegment(match[1]);
  const path = `${jobPath(jobId)}/report`;
  replaceChildren(container, h("p", { class: "muted", role: "status" }, "Loading the job…"));
  (async () => {
    let output;
    try {
      output = await api("GET", path, { signal });
    } catch (error) {
      if (signal.aborted) return;
      const actions = [...recoveryActions(error, { retry: rerender }), h("a", { href: "#/jobs", class: "button" }, "Back to the jobs")];
      replaceChildren(
        container,
        h("h1", { id: "job-title", tabindex: "-1" }, error.code === "NotFound" ? "No such job" : "The job could not be loaded"),
        errorNotice(error, { actions }),
      );
      return;
    }
    if (signal.aborted) return;
    render(container, output, { signal, rerender });
    if (isFinished(output.job.status)) return;
    let status = output.job.status;
    repeat(
      async () => {
        const next = await api("GET", path, { signal });
        if (signal.aborted) return false;
        if (next.job.status !== status) {
          status = next.job.status;
          render(container, next, { signal, rerender });
          announce(`The job is ${status}.`);
        } else {
          const live = container.querySelector(".live .progress");
          live?.replaceWith(progressView(next.progress, "Import progress"));
        }
        return !isFinished(status);
      },
      POLL_MS,
      signal,
    );
  })();
}
