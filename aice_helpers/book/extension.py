"""A small Sphinx extension for the book's HTML: each script once, MathJax everywhere, light mode.

sphinx-thebe registers its inline configuration script again when Sphinx reads the sources a second
time in one build, which declares ``const THEBE_JS_URL`` twice and logs a console error; the
pydata theme logs another when no colour mode was stored yet. Both are harmless but a clean console
is part of the book's tests, so they are removed here rather than ignored there. The root
``index.html`` that Jupyter Book writes is a bare redirect, for which a browser may ask the server for
``/favicon.ico``: the book's icon is copied there so that the request does not fail. The tables and figures
the chapters wrote to ``downloads/`` beside their executed copies are copied to the same place in the output.

The pydata theme writes the book's title (``docstitle``) into every page's navigation bar without
escaping it, and sphinx-book-theme prints the front page's and each page's title as plain text without
escaping, so a title holding HTML would run in every page (``aice rerun --title`` takes any text): those
titles are handed to the templates escaped.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_MODE",
    "ROOT_FAVICON",
    "DOWNLOADS_FOLDER",
    "setup",
]

DEFAULT_MODE = "light"
ROOT_FAVICON = "favicon.ico"
DOWNLOADS_FOLDER = "downloads"  # pages.downloads.LINK_FOLDER (this extension imports nothing of the package)


def _unique_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Drop repeated script entries (same file and same inline body) from a page's context."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:
        key = (str(getattr(script, "filename", script) or ""), str(getattr(script, "attributes", {}).get("body", "")))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: Sphinx restores the shared list after each page


def _escaped_title(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Give the themes the book's and the page's titles HTML-escaped where their templates print them unescaped:
    the navigation bar's text and the search page's <title> (pydata), the home link and the print heading
    (sphinx-book-theme's ``root_title`` and ``pagetitle``, plain text from ``astext()``)."""
    title = context.get("docstitle")
    logo = context.get("theme_logo")
    if title and isinstance(logo, dict) and not logo.get("text"):
        context["theme_logo"] = {**logo, "text": html.escape(str(title))}
    if title and pagename == "search" and not context.get("title"):
        context["title"] = html.escape(str(title))
    for key in ("root_title", "pagetitle"):
        if isinstance(context.get(key), str):
            context[key] = html.escape(context[key])


def _copy_favicon_to_root(app: Any, exception: Exception | None) -> None:
    """Copy the configured favicon to the output's root as favicon.ico (a PNG there is fine for browsers)."""
    favicon = app.config.html_favicon
    if exception is not None or app.builder.format != "html" or not favicon or "://" in str(favicon):
        return
    source = Path(app.confdir) / favicon
    if source.is_file():
        shutil.copyfile(source, Path(app.outdir) / ROOT_FAVICON)


def _copy_downloads(app: Any, exception: Exception | None) -> None:
    """Publish each page folder's ``downloads/`` (tables and figures the chapters wrote beside their executed
    copies, see ``pages.downloads``) at the same place in the HTML output, so that the pages' relative links work."""
    if exception is not None or app.builder.format != "html":
        return
    source_root, output_root = Path(app.srcdir), Path(app.outdir)
    for folder in sorted({Path(docname).parent for docname in app.env.found_docs}):
        source = source_root / folder / DOWNLOADS_FOLDER
        if source.is_dir() and not source.is_symlink():
            shutil.copytree(source, output_root / folder / DOWNLOADS_FOLDER, dirs_exist_ok=True, symlinks=False)


def setup(app: Any) -> dict[str, Any]:
    """Register the page hook and the default colour mode."""
    app.config.html_context.setdefault("default_mode", DEFAULT_MODE)
    # Load MathJax on every page: pages with a bibliography are read twice and lose the flag
    # that tells Sphinx they hold equations, which leaves their formulas as raw TeX.
    app.set_html_assets_policy("always")
    app.connect("html-page-context", _unique_scripts, priority=900)
    app.connect("html-page-context", _escaped_title, priority=900)  # after the themes set their titles
    app.connect("build-finished", _copy_favicon_to_root)
    app.connect("build-finished", _copy_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
