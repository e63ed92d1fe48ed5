"""Build the lesson notebooks from their percent-format sources, or check that they agree.

Sources are `notebooks/src/NN-topic.py`: a line `# %%` starts a code cell, `# %% [markdown]`
a Markdown cell whose lines start with `# `. The built `notebooks/NN-topic.ipynb` has no
outputs, no execution counts and stable cell ids, so it diffs cleanly and nbval runs it fresh.

    python tools/notebooks.py build    # write every .ipynb from its source
    python tools/notebooks.py check    # exit 1 if a committed .ipynb differs from its source
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def cells_of(source: str, stem: str) -> list[dict[str, object]]:
    """Split a percent-format source into notebook cells."""
    cells: list[dict[str, object]] = []
    kind, lines = None, []

    def flush() -> None:
        if kind is None:
            return
        while lines and not lines[-1].strip():
            lines.pop()
        if kind == "markdown":
            lines[:] = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in lines]
        text = "\n".join(lines)
        cell: dict[str, object] = {
            "cell_type": kind,
            "id": f"{stem}-{len(cells):02d}",
            "metadata": {},
            "source": text.splitlines(keepends=True),
        }
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)

    for line in source.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def build(src: Path) -> str:
    """Return the notebook JSON text for one source file."""
    nb = {
        "cells": cells_of(src.read_text(), src.stem),
        "metadata": {"kernelspec": KERNEL, "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else "build"
    stale = []
    for src in sorted((NOTEBOOKS / "src").glob("*.py")):
        target = NOTEBOOKS / f"{src.stem}.ipynb"
        text = build(src)
        if mode == "build":
            target.write_text(text)
        elif not target.exists() or target.read_text() != text:
            stale.append(target.name)
    if stale:
        print(f"out of date with notebooks/src: {', '.join(stale)}; run `python tools/notebooks.py build`")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
