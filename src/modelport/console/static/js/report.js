// The validation report made readable, for a job and for a dry run alike: what failed first
// (grouped by file: which tensor, which rule, what to fix), then warnings, checks, files, summary
// and the manifest. Fields the server does not send yet (`fix`, `manifest`) are shown when present.

import { h } from "./dom.js";
import { formatBytes, formatCount, formatParameters } from "./format.js";

const WHOLE_UPLOAD = null;

/** Findings by file, in the order files first appear; a group's errors before its warnings. */
export function groupByFile(findings) {
  const groups = new Map();
  for (const finding of findings) {
    const file = finding.file ?? WHOLE_UPLOAD;
    if (!groups.has(file)) groups.set(file, []);
    groups.get(file).push(finding);
  }
  return [...groups].map(([file, items]) => ({
    file,
    findings: [...items.filter(isError), ...items.filter((finding) => !isError(finding))],
  }));
}

const isError = (finding) => (finding.severity ?? "error") === "error";

function findingCard(finding) {
  const error = isError(finding);
  return h(
    "li",
    { class: `finding finding--${error ? "error" : "warning"}`, dataset: { code: finding.code ?? "" } },
    h(
      "div",
      { class: "finding-head" },
      h("span", { class: "severity" }, h("span", { "aria-hidden": "true" }, error ? "✕ " : "! "), error ? "Error" : "Warning"),
      finding.code && h("span", { class: "finding-rule" }, h("span", { class: "label" }, "Rule "), h("code", {}, finding.code)),
    ),
    finding.tensor &&
      h("p", { class: "finding-tensor" }, h("span", { class: "label" }, "Tensor "), h("code", {}, finding.tensor)),
    h("p", { class: "finding-message" }, finding.message ?? ""),
    finding.fix && h("p", { class: "finding-fix" }, h("strong", {}, "Fix: "), finding.fix),
  );
}

// One rule broken by many tensors (an adapter for another base fails every shape) would bury the
// other rules: each rule shows its first few findings, the rest folded under a summary.
const SHOWN_PER_RULE = 3;

function findingItems(items) {
  const byRule = new Map();
  for (const finding of items) {
    const code = finding.code ?? "unknown";
    if (!byRule.has(code)) byRule.set(code, []);
    byRule.get(code).push(finding);
  }
  return [...byRule].flatMap(([code, findings]) => {
    const rest = findings.slice(SHOWN_PER_RULE);
    return [
      ...findings.slice(0, SHOWN_PER_RULE).map(findingCard),
      rest.length > 0 &&
        h(
          "li",
          { class: "finding-more" },
          h(
            "details",
            {},
            h("summary", {}, `${rest.length} more `, h("code", {}, code), ` finding${rest.length === 1 ? "" : "s"} in this file`),
            h("ol", { class: "findings" }, rest.map(findingCard)),
          ),
        ),
    ];
  });
}

function findingGroups(findings, level) {
  return groupByFile(findings).map(({ file, findings: items }) =>
    h(
      "section",
      { class: "finding-group", dataset: { file: file ?? "" } },
      h(
        level,
        { class: "finding-file" },
        file === WHOLE_UPLOAD
          ? "The upload as a whole"
          : [h("span", { class: "label" }, "File "), h("code", {}, file)],
      ),
      h("ol", { class: "findings" }, findingItems(items)),
    ),
  );
}

/** "lora.shape_mismatch × 72, lora.layer_out_of_range × 4": the rules broken, most findings first. */
function ruleTally(findings) {
  const counts = new Map();
  for (const finding of findings) counts.set(finding.code ?? "unknown", (counts.get(finding.code ?? "unknown") ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/**
 * The panel that opens a failed job or dry run: every error, grouped by file. `fallback` is the
 * sentence to show when the report holds no finding (a job that failed before checking anything);
 * `next` ends the lead: "Fix them and <next>."
 */
export function failurePanel(report, { title, fallback = null, next = "import again" }) {
  const errors = (report?.findings ?? []).filter(isError);
  const files = new Set(errors.map((finding) => finding.file ?? WHOLE_UPLOAD));
  const named = files.size - (files.has(WHOLE_UPLOAD) ? 1 : 0);
  const where = [named && plural(named, "file"), files.has(WHOLE_UPLOAD) && "the upload as a whole"].filter(Boolean).join(" and ");
  // The report lists a bounded number of findings per rule; its counts hold the true total.
  const total = Number.isInteger(report?.counts?.errors) && report.counts.errors > errors.length ? report.counts.errors : errors.length;
  const lead = errors.length
    ? `${plural(total, "error")} in ${where}. Fix ${total === 1 ? "it" : "them"} and ${next}.`
    : "The import stopped before its checks could name a file.";
  const sentence = fallback ?? report?.error;
  return h(
    "section",
    { class: "failure", "aria-labelledby": "failure-title" },
    h("h2", { id: "failure-title" }, title),
    h("p", { class: "failure-lead" }, lead),
    errors.length > 1 &&
      h(
        "p",
        { class: "failure-rules" },
        h("span", { class: "label" }, "Rules broken: "),
        ruleTally(errors).map(([code, count], index) => [index ? ", " : "", h("code", {}, code), count > 1 ? ` × ${count}` : ""]),
      ),
    errors.length
      ? findingGroups(errors, "h3")
      : sentence && h("ol", { class: "findings" }, findingCard({ severity: "error", message: sentence })),
  );
}

export function warningsSection(report) {
  const warnings = (report?.findings ?? []).filter((finding) => !isError(finding));
  if (!warnings.length) return null;
  return h(
    "section",
    { class: "panel warnings", "aria-labelledby": "warnings-title" },
    h("h2", { id: "warnings-title" }, `Warnings (${warnings.length})`),
    h("p", { class: "muted" }, "Warnings do not stop an import; read them before serving the model."),
    findingGroups(warnings, "h3"),
  );
}

const OUTCOME_ICONS = { passed: "✓", failed: "✕", warning: "!", skipped: "–", pending: "◷" };

export function checksSection(report, { pending }) {
  const checks = report?.checks ?? [];
  return h(
    "section",
    { class: "panel", "aria-labelledby": "checks-title" },
    h("h2", { id: "checks-title" }, "Checks"),
    checks.length
      ? h(
          "ul",
          { class: "checks" },
          checks.map((check) =>
            h(
              "li",
              { class: `check check--${check.outcome}`, dataset: { outcome: check.outcome } },
              h(
                "span",
                { class: `outcome outcome--${check.outcome}` },
                h("span", { "aria-hidden": "true" }, `${OUTCOME_ICONS[check.outcome] ?? "?"} `),
                check.outcome,
              ),
              h("code", { class: "check-name" }, check.name),
              check.detail && h("span", { class: "check-detail" }, check.detail),
            ),
          ),
        )
      : h(
          "p",
          { class: "muted" },
          pending ? "Pending: the checks run when a worker starts the job; their outcomes appear here." : "No checks ran.",
        ),
  );
}

function digest(sha256) {
  return sha256 ? h("code", { class: "digest" }, sha256) : h("span", { class: "muted" }, "—");
}

export function filesSection(report) {
  const files = report?.files ?? [];
  if (!files.length) return null;
  return h(
    "section",
    { class: "panel", "aria-labelledby": "files-title" },
    h("h2", { id: "files-title" }, `Files (${files.length})`),
    files.some((file) => file.sha256)
      ? null
      : h("p", { class: "muted" }, "SHA-256 digests are computed while an import copies the files, so a dry run or a failed import has none."),
    h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        { class: "table files" },
        h("caption", { class: "visually-hidden" }, "Every file of the upload and what the gate did with it"),
        h(
          "thead",
          {},
          h("tr", {}, ["File", "Fate", "Class", "Size", "SHA-256"].map((name) => h("th", { scope: "col" }, name))),
        ),
        h(
          "tbody",
          {},
          files.map((file) =>
            h(
              "tr",
              { dataset: { path: file.path } },
              h("th", { scope: "row", "data-label": "File" }, h("code", {}, file.path)),
              h(
                "td",
                { "data-label": "Fate" },
                h("span", { class: `fate fate--${file.status}` }, file.status ?? "—"),
                file.reason && h("span", { class: "fate-reason" }, file.reason),
              ),
              h("td", { "data-label": "Class" }, file.class ?? "—"),
              h("td", { "data-label": "Size", title: `${formatCount(file.size)} bytes` }, formatBytes(file.size)),
              h("td", { "data-label": "SHA-256" }, digest(file.sha256)),
            ),
          ),
        ),
      ),
    ),
  );
}

const SUMMARY_LABELS = [
  ["rank", "Rank"],
  ["alpha", "Alpha"],
  ["target_modules", "Target modules"],
  ["tensor_count", "Tensors"],
  ["parameters", "Parameters"],
  ["dtypes", "Dtypes"],
  ["layers", "Layers"],
  ["modules", "Modules with tensors"],
  ["use_rslora", "rsLoRA"],
];

function summaryValue(key, value) {
  if (key === "parameters" && typeof value === "number") return `${formatCount(value)} (${formatParameters(value)})`;
  if (Array.isArray(value)) return value.join(", ") || "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (value && typeof value === "object") {
    return Object.entries(value)
      .map(([name, count]) => `${name} × ${formatCount(count)}`)
      .join(", ");
  }
  return typeof value === "number" ? formatCount(value) : String(value ?? "—");
}

const humanise = (key) => key.replaceAll("_", " ").replace(/^./, (first) => first.toUpperCase());

export function summarySection(report) {
  const summary = report?.summary ?? {};
  const keys = Object.keys(summary);
  if (!keys.length) return null;
  const known = SUMMARY_LABELS.filter(([key]) => key in summary);
  const others = keys.filter((key) => !SUMMARY_LABELS.some(([name]) => name === key)).map((key) => [key, humanise(key)]);
  return h(
    "section",
    { class: "panel", "aria-labelledby": "summary-title" },
    h("h2", { id: "summary-title" }, "Summary"),
    h(
      "dl",
      { class: "facts" },
      [...known, ...others].map(([key, label]) =>
        h("div", { dataset: { key } }, h("dt", {}, label), h("dd", {}, summaryValue(key, summary[key]))),
      ),
    ),
  );
}

/** The manifest of a published model (SUCCESSED jobs on servers that report it). */
export function manifestSection(report) {
  const manifest = report?.manifest;
  if (!manifest || typeof manifest !== "object") return null;
  const files = Array.isArray(manifest.files) ? manifest.files : [];
  const scalars = Object.entries(manifest).filter(([key, value]) => key !== "files" && (value === null || typeof value !== "object"));
  return h(
    "section",
    { class: "panel", "aria-labelledby": "manifest-title" },
    h("h2", { id: "manifest-title" }, "Manifest"),
    h("p", { class: "muted" }, "What was published to the model store, as its manifest.json records it."),
    h(
      "dl",
      { class: "facts" },
      scalars.map(([key, value]) =>
        h(
          "div",
          { dataset: { manifestKey: key } },
          h("dt", {}, humanise(key)),
          h("dd", {}, key.endsWith("bytes") && typeof value === "number" ? `${formatBytes(value)} (${formatCount(value)} bytes)` : String(value)),
        ),
      ),
    ),
    files.length > 0 &&
      h(
        "div",
        { class: "table-scroll" },
        h(
          "table",
          { class: "table manifest" },
          h("caption", { class: "visually-hidden" }, "Files in the manifest"),
          h("thead", {}, h("tr", {}, ["File", "Size", "SHA-256"].map((name) => h("th", { scope: "col" }, name)))),
          h(
            "tbody",
            {},
            files.map((file) =>
              h(
                "tr",
                {},
                h("th", { scope: "row", "data-label": "File" }, h("code", {}, file.path ?? "?")),
                h("td", { "data-label": "Size" }, formatBytes(file.size)),
                h("td", { "data-label": "SHA-256" }, digest(file.sha256)),
              ),
            ),
          ),
        ),
      ),
  );
}

/** The sections after the opening panel, in reading order. */
export function reportSections(report, { pending = false } = {}) {
  return [warningsSection(report), checksSection(report, { pending }), filesSection(report), summarySection(report), manifestSection(report)];
}
