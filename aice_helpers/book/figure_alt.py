"""A Sphinx extension: every figure a chapter shows gets its description as alt text.

myst-nb writes each SVG output of a notebook to a file and points an image at it, with no alt text, so the
HTML writer falls back to the file's path. The book's figures carry a short description inside the SVG
(``dc:description``, written by :func:`aice_helpers.pages.plots.svg_bytes`); this extension reads it and sets
it as the image's alt text. Images that already have alt text, or whose SVG has no description, are left as
they are.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

from docutils import nodes

__all__ = ["svg_description", "setup"]

DESCRIPTION = re.compile(r"<dc:description>(.*?)</dc:description>", re.DOTALL)


def svg_description(path: Path) -> str:
    """Return the dc:description of an SVG file ('' when it has none or cannot be read)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    found = DESCRIPTION.search(text)
    return " ".join(unescape(found.group(1)).split()) if found else ""


def _image_file(app: Any, docname: str, uri: str) -> Path:
    """The file an image's uri names: relative to the source folder when it starts with '/', else to the page."""
    if uri.startswith("/"):
        return (Path(app.srcdir) / uri.lstrip("/")).resolve()
    return (Path(app.srcdir) / docname).parent.joinpath(uri).resolve()


def _describe_images(app: Any, doctree: Any, docname: str) -> None:
    """Set the alt text of the page's SVG images from the descriptions inside them."""

    for image in doctree.findall(nodes.image):
        uri = str(image.get("uri", ""))
        if image.get("alt") or not uri.endswith(".svg"):
            continue
        description = svg_description(_image_file(app, docname, uri))
        if description:
            image["alt"] = description


def setup(app: Any) -> dict[str, Any]:
    """Register the hook that runs on every resolved page."""
    app.connect("doctree-resolved", _describe_images)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
