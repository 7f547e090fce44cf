"""The report as PDF, printed by a headless Chromium (Debian's ``chromium``) from its HTML.

No PDF library: the page is already made for a browser, and Chromium prints it as it shows it
(charts, tables). Without Chromium on the machine, one line says so.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-pdf-header-footer")  # fmt: skip


class PdfError(RuntimeError):
    """The PDF could not be made: the one line for the operator."""


def print_pdf(html: str, out: Path, timeout_s: float = 120.0) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise PdfError("a PDF needs Chromium (apt-get install chromium); or write the report as .html")
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        done = subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}", f"--print-to-pdf={out.resolve()}",
             page.as_uri()], capture_output=True, text=True, timeout=timeout_s,
        )  # fmt: skip
    if done.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        raise PdfError(f"{out}: Chromium did not print the report ({reason})")
