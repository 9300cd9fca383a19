"""Report fields newer servers send, rendered by the console's own report module in a real page:
a finding's `fix`, the `manifest` of a SUCCESSED import, and a closing "and N more" finding. No
server here sends them yet, so the report is given to the module directly, in the shape announced
for them; the page is the real console, under its real CSP."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.browser.harness import ConsoleServer, expect

if TYPE_CHECKING:
    from playwright.sync_api import Page

REPORT: dict[str, Any] = {
    "format": "modelport.report/v1",
    "verdict": "failed",
    "findings": [
        {
            "severity": "warning",
            "code": "values.untrained",
            "message": "adapter_model.safetensors: every lora_B matrix is zero.",
            "file": "adapter_model.safetensors",
        },
        {
            "severity": "error",
            "code": "lora.shape_mismatch",
            "message": "adapter_model.safetensors: tensor t.lora_B.weight has shape [2048, 8], not [1024, 8].",
            "file": "adapter_model.safetensors",
            "tensor": "t.lora_B.weight",
            "fix": "Train the adapter on qwen3-8b, or import it for the base it was trained on.",
        },
        {
            "severity": "error",
            "code": "lora.rank_not_allowed",
            "message": "adapter_config.json: r is 12.",
            "file": "adapter_config.json",
            "fix": "Retrain with r = 8, 16, 32 or 64.",
        },
        {"severity": "error", "code": "report.truncated", "message": "and 250 more errors of the same kinds."},
    ],
    "manifest": {
        "format": "modelport.manifest/v1",
        "model_name": "qwen3-8b-offline-20261202-abcd",
        "total_bytes": 15355064,
        "files": [
            {"path": "adapter_config.json", "size": 552, "sha256": "a" * 64},
            {"path": "adapter_model.safetensors", "size": 15354512, "sha256": "b" * 64},
        ],
    },
}

RENDER = """async (report) => {
    const { failurePanel, reportSections } = await import('/console/js/report.js');
    const root = document.createElement('div');
    root.id = 'fixture';
    root.append(failurePanel(report, { title: 'Why it failed' }), ...reportSections(report).filter(Boolean));
    document.getElementById('main').replaceChildren(root);
}"""


def test_fixes_the_manifest_and_a_closing_summary_finding_are_shown_when_present(
    page: Page, console_server: ConsoleServer
) -> None:
    page.goto(f"{console_server.base_url}/console")
    expect(page.get_by_role("heading", name="Connect with an API key", level=1)).to_be_visible()
    page.evaluate(RENDER, REPORT)
    failure = page.locator("#fixture section.failure")
    # Errors first, grouped by file in the order files first appear; the file-less summary last.
    expect(failure.locator(".finding-file")).to_have_text(
        ["File adapter_model.safetensors", "File adapter_config.json", "The upload as a whole"]
    )
    expect(failure.locator(".finding-fix")).to_have_text(
        [
            "Fix: Train the adapter on qwen3-8b, or import it for the base it was trained on.",
            "Fix: Retrain with r = 8, 16, 32 or 64.",
        ]
    )
    expect(failure.locator(".finding[data-code='lora.shape_mismatch'] .finding-tensor")).to_have_text(
        "Tensor t.lora_B.weight"
    )
    expect(failure.locator(".finding[data-code='report.truncated'] .finding-message")).to_have_text(
        "and 250 more errors of the same kinds."
    )
    expect(failure.locator(".failure-lead")).to_have_text(
        "3 errors in 2 files and the upload as a whole. Fix them and import again."
    )
    # The warning is not among the failures; it has its own section.
    expect(failure.locator(".finding--warning")).to_have_count(0)
    expect(page.locator("#fixture .warnings .finding")).to_have_text(
        ["! WarningRule values.untrainedadapter_model.safetensors: every lora_B matrix is zero."]
    )
    manifest = page.locator("#fixture section[aria-labelledby=manifest-title]")
    expect(manifest.locator("[data-manifest-key=format] dd")).to_have_text("modelport.manifest/v1")
    expect(manifest.locator("[data-manifest-key=total_bytes] dd")).to_have_text("14.6 MiB (15,355,064 bytes)")
    expect(manifest.locator("tbody tr th")).to_have_text(["adapter_config.json", "adapter_model.safetensors"])
    expect(manifest.locator("tbody .digest")).to_have_text(["a" * 64, "b" * 64])


def test_a_report_without_the_new_fields_renders_without_them(page: Page, console_server: ConsoleServer) -> None:
    page.goto(f"{console_server.base_url}/console")
    expect(page.get_by_role("heading", name="Connect with an API key", level=1)).to_be_visible()
    older = {**REPORT, "findings": [dict(f) for f in REPORT["findings"][1:3]]}
    del older["manifest"]
    for finding in older["findings"]:
        del finding["fix"]
    page.evaluate(RENDER, older)
    expect(page.locator("#fixture .finding")).to_have_count(2)
    expect(page.locator("#fixture .finding-fix")).to_have_count(0)
    expect(page.locator("#fixture section[aria-labelledby=manifest-title]")).to_have_count(0)
