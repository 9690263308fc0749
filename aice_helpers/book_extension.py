"""A small Sphinx extension for the book's HTML: each script once, MathJax everywhere, light mode.

sphinx-thebe registers its inline configuration script again when Sphinx reads the sources a second
time in one build, which declares ``const THEBE_JS_URL`` twice and logs a console error; the
pydata theme logs another when no colour mode was stored yet. Both are harmless but a clean console
is part of the book's tests, so they are removed here rather than ignored there.
"""

from __future__ import annotations

from typing import Any

DEFAULT_MODE = "light"


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


def setup(app: Any) -> dict[str, Any]:
    """Register the page hook and the default colour mode."""
    app.config.html_context.setdefault("default_mode", DEFAULT_MODE)
    # Load MathJax on every page: pages with a bibliography are read twice and lose the flag
    # that tells Sphinx they hold equations, which leaves their formulas as raw TeX.
    app.set_html_assets_policy("always")
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
