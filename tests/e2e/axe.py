"""axe-core in the browser tests: installed from npm beside bun, run through Playwright."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
AXE_DIR = ROOT / ".nextoria" / "tools" / "axe"
AXE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"


def load_axe() -> str:
    """axe-core's source (npm install under .nextoria/tools on first use, as the Makefile does)."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("axe-core is not installed and npm is not on the PATH")
        subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(AXE_DIR),
                "--no-save",
                "--no-audit",
                "--no-fund",
                "axe-core@4.14",
            ],
            check=True,
            capture_output=True,
        )
    return AXE.read_text()


def check_axe(page: Page, axe_source: str, where: str) -> None:
    """No serious or critical violation on the page as it is now."""
    # Through the DevTools protocol: the app's CSP (rightly) refuses an inline script tag.
    page.evaluate(f"() => {{ {axe_source}\n }}")
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' + n.html.slice(0, 160))}))"
    )
    bad = [v for v in found if v["impact"] in ("serious", "critical")]
    assert not bad, f"axe on {where}: {bad}"
