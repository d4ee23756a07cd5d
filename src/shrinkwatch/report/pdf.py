"""``report.pdf``: the report page printed by headless Chromium, with the page's print stylesheet
(``templates/print.css``: A4, a page per section, every table row, no interactive parts).

Chromium is found on ``PATH`` (``chromium``, ``chromium-browser``, ``google-chrome``) or named by
``SHRINKWATCH_CHROMIUM``. Without it, or when it fails, no PDF is written and :func:`write_pdf` says why:
a run never fails for want of a PDF.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from shrinkwatch.core.messages import LANGUAGES, catalogue, message

__all__ = ["PdfOutcome", "find_chromium", "write_pdf", "CHROMIUM_ENV", "PDF_MESSAGES"]

#: Environment variable naming the Chromium (or Chrome) program to print with.
CHROMIUM_ENV = "SHRINKWATCH_CHROMIUM"
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: What the run says about the PDF, per language: the catalogues' ``[report.pdf]``.
PDF_MESSAGES: dict[str, dict[str, str]] = {
    lang: {key.removeprefix("report.pdf."): text for key, text in catalogue(lang).items()
           if key.startswith("report.pdf.")} for lang in LANGUAGES}


@dataclass(frozen=True)
class PdfOutcome:
    """The PDF written (``path``), or None and ``reason`` saying why not; ``seconds`` spent printing."""

    path: Path | None
    reason: str = ""
    seconds: float = 0.0

    @property
    def written(self) -> bool:
        return self.path is not None


def _say(key: str, lang: str = "en", **values: object) -> str:
    return message(f"report.pdf.{key}", lang, env=CHROMIUM_ENV, **values)


def find_chromium(lang: str = "en") -> tuple[str | None, str]:
    """The Chromium program to print with and, when there is none, why (``SHRINKWATCH_CHROMIUM`` first).

    Examples
    --------
    >>> import os
    >>> os.environ[CHROMIUM_ENV] = "/no/such/chromium"
    >>> find_chromium()
    (None, 'SHRINKWATCH_CHROMIUM=/no/such/chromium is not a program that can be run')
    >>> del os.environ[CHROMIUM_ENV]
    """
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        found = shutil.which(configured)
        return (found, "") if found else (None, _say("bad_env", lang, value=configured))
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found, ""
    return None, _say("no_chromium", lang, names=", ".join(_NAMES))


def _detail(stderr: str) -> str:
    """The last meaningful line of Chromium's stderr (its D-Bus chatter left out)."""
    lines = [line for line in stderr.splitlines() if line.strip() and "dbus" not in line.lower()]
    return f": {lines[-1][-300:]}" if lines else ""


def write_pdf(html: Path, pdf: Path, timeout: float = 180.0, *, lang: str = "en") -> PdfOutcome:
    """Print ``html`` to ``pdf`` with headless Chromium (no header or footer lines, a throwaway profile);
    a failure leaves no file and returns the reason (in ``lang``) instead of raising."""
    program, reason = find_chromium(lang)
    if program is None:
        return PdfOutcome(None, reason)
    started = time.perf_counter()
    pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="shrinkwatch-chromium-") as profile:
        command = [program, "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-dev-shm-usage",
                   f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={pdf}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        command.append(Path(html).resolve().as_uri())
        try:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       errors="replace", start_new_session=True)
        except OSError as error:
            return PdfOutcome(None, _say("cannot_start", lang, error=error.strerror or error))
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            if hasattr(os, "killpg"):
                os.killpg(process.pid, signal.SIGKILL)  # the renderers too: they are in the session it leads
            else:  # pragma: no cover - Windows
                process.kill()
            process.communicate()
            pdf.unlink(missing_ok=True)
            return PdfOutcome(None, _say("timeout", lang, seconds=timeout), time.perf_counter() - started)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        pdf.unlink(missing_ok=True)
        return PdfOutcome(None, _say("failed", lang, code=process.returncode, detail=_detail(stderr)), seconds)
    if not pdf.is_file() or pdf.read_bytes()[:5] != b"%PDF-":
        pdf.unlink(missing_ok=True)
        return PdfOutcome(None, _say("not_pdf", lang, detail=_detail(stderr)), seconds)
    return PdfOutcome(pdf, "", seconds)
