"""Where a carer's tool is to write its file, checked before the work: a wrong path is told at once, in a line."""

from __future__ import annotations

import os
from pathlib import Path

# What matplotlib can write (``FigureCanvasBase.get_supported_filetypes``), without importing it to ask.
PICTURES = ("eps", "jpeg", "jpg", "pdf", "pgf", "png", "ps", "raw", "rgba", "svg", "svgz", "tif", "tiff", "webp")


def problem(path: str, picture: bool = False) -> str | None:
    """Why ``path`` cannot be written (``picture``: as a picture), or None."""
    target = Path(path)
    suffix = target.suffix.lower().lstrip(".")
    if picture and suffix and suffix not in PICTURES:
        return f"cannot draw a picture as .{suffix}; name it .png, .svg or .pdf"
    if target.is_dir():
        return f"{path} is a folder; give a file name"
    if target.exists():  # writing over it needs the file's permission only (and /dev/null is always there)
        return None if os.access(target, os.W_OK) else f"cannot write {path}: permission denied"
    folder = target.parent
    if not folder.is_dir():
        return f"cannot write {path}: the folder {folder} does not exist"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot write {path}: permission denied"
    return None
