"""A headless Chromium for the report: print it to PDF with its print stylesheet, take a screenshot,
or read the page's layout after it is drawn. Used by ``vr-exposure report --pdf``, the report's
browser test and the script that makes the documentation's screenshots.

Chromium is found on ``PATH`` (``chromium``, ``chromium-browser``, ``google-chrome``) or named by
``$VR_EXPOSURE_CHROMIUM``. It runs with ``--headless`` and, as root (containers), ``--no-sandbox``.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from vr_exposure.errors import VrExposureError

TIMEOUT_S = 120.0


class BrowserError(VrExposureError):
    """Chromium is missing, or did not draw the page."""


def find_chromium() -> str | None:
    named = os.environ.get("VR_EXPOSURE_CHROMIUM")
    if named:
        return named if shutil.which(named) or Path(named).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(args: list[str], *, timeout_s: float = TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    exe = find_chromium()
    if exe is None:
        raise BrowserError("no Chromium found (Debian: apt-get install chromium)")
    flags = ["--headless", "--disable-gpu", "--hide-scrollbars", "--mute-audio", "--no-first-run"]
    flags += ["--disable-dev-shm-usage", "--force-device-scale-factor=1"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    with tempfile.TemporaryDirectory(prefix="vr-exposure-chromium-") as profile:
        try:
            result = subprocess.run(
                [exe, *flags, f"--user-data-dir={profile}", *args],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BrowserError(f"Chromium did not finish within {timeout_s:.0f} s") from None
    return result


def print_pdf(page: Path | str, pdf: Path | str) -> Path:
    """Print ``page`` (an HTML file) to ``pdf`` as the browser's print would (print stylesheet, no
    header or footer)."""
    pdf = Path(pdf).resolve()
    result = _run([f"--print-to-pdf={pdf}", "--no-pdf-header-footer", Path(page).resolve().as_uri()])
    if not pdf.is_file() or pdf.stat().st_size == 0:
        raise BrowserError(f"Chromium wrote no PDF: {result.stderr[-500:]}")
    return pdf


def screenshot(page: Path | str, png: Path | str, *, width: int, height: int) -> Path:
    """A ``width`` x ``height`` screenshot of the top of ``page`` (CSS pixels = image pixels)."""
    png = Path(png).resolve()
    result = _run([f"--screenshot={png}", f"--window-size={width},{height}", Path(page).resolve().as_uri()])
    if not png.is_file():
        raise BrowserError(f"Chromium wrote no screenshot: {result.stderr[-500:]}")
    return png


_LAYOUT_SCRIPT = """
<script>
(function () {
  function box(el) { const r = el.getBoundingClientRect();
    return {x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height}; }
  const out = {page: {width: document.documentElement.scrollWidth,
                      height: document.documentElement.scrollHeight}, elements: {}};
  for (const el of document.querySelectorAll('[id]')) {
    const tag = el.tagName.toLowerCase();
    if (tag === 'svg' || tag === 'section') out.elements[el.id] = box(el);
  }
  out.text = document.body.innerText;
  out.header_rows = [];
  for (const tr of document.querySelectorAll('thead tr, tr')) {
    const cells = Array.from(tr.children);
    if (cells.length && cells.every(c => c.tagName.toLowerCase() === 'th'))
      out.header_rows.push(cells.map(c => c.innerText.trim()));
  }
  const p = document.createElement('pre'); p.id = 'vr-exposure-layout';
  p.textContent = JSON.stringify(out); document.body.appendChild(p);
})();
</script>
"""


def layout(page: Path | str, *, width: int) -> dict[str, Any]:
    """Where the page's SVGs and sections are drawn at ``width`` (page coordinates), the page's size,
    its visible text and the text of each header row (a row of only ``th`` cells), read from the drawn
    page (a copy of it with a measuring script added)."""
    source = Path(page).read_text(encoding="utf-8")
    marker = "</body>"
    if marker not in source:
        raise BrowserError(f"{page}: no </body> in the page")
    with tempfile.TemporaryDirectory(prefix="vr-exposure-layout-") as tmp:
        copy = Path(tmp) / "page.html"
        copy.write_text(source.replace(marker, _LAYOUT_SCRIPT + marker, 1), encoding="utf-8")
        result = _run(
            ["--dump-dom", "--virtual-time-budget=5000", f"--window-size={width},1000", copy.as_uri()]
        )
    start = result.stdout.find('<pre id="vr-exposure-layout">')
    if start < 0:
        raise BrowserError(f"Chromium did not run the page's script: {result.stderr[-500:]}")
    end = result.stdout.index("</pre>", start)
    raw = result.stdout[start + len('<pre id="vr-exposure-layout">') : end]
    out: dict[str, Any] = json.loads(html.unescape(raw))
    return out
