"""The templates of report.html and its sections: Jinja2 (autoescaped, imported on first use), its filters, the
static files inlined into the page, and the Content-Security-Policy that lets only the page's own script run."""

from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from .terminal import duration

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def environment() -> jinja2.Environment:
    """Jinja2, imported on first use."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined, auto_reload=False)
    env.filters.update(duration=duration, money=money, number=number, plural=plural)
    return env


def template(name: str) -> jinja2.Template:
    return environment().get_template(name)


def money(value: float | None) -> str:
    return "" if value is None else f"${value:.2f}"


def number(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def static(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def sha256_source(text: str) -> str:
    """A CSP source that allows exactly this inline script."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


SCRIPT = static("report.js")
SECTION_CSS = static("section.css")
PAGE_CSS = static("page.css") + SECTION_CSS
# Nothing is fetched (no default source; images only as data: URIs, the empty favicon), and the only script
# that runs is the page's own.
CSP = (f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src {sha256_source(SCRIPT)}; "
       "base-uri 'none'; form-action 'none'")
