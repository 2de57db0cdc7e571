"""QR codes drawn on the server as inline SVG (segno, pure Python, pinned in pyproject.toml): no script, no image
request, sharp in print. Used by the classroom screen for the rotating check-in link; any room may use it."""

from __future__ import annotations

import io

import segno
from markupsafe import Markup


def qr_svg(text: str, *, title: str, scale: int = 8) -> Markup:
    """An ``<svg role="img">`` of ``text`` with ``title`` as its accessible name (error correction M)."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(
        out,
        kind="svg",
        scale=scale,
        border=4,
        xmldecl=False,
        svgns=True,
        title=title,
        svgclass="qr",
        lineclass=None,
        dark="#000",
        light="#fff",
    )
    svg = out.getvalue().decode()
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))
