"""Quiz progress reports: a learner's summary, an instructor's table, and `python -m labsetup progress`.

Examples:
- `python -m labsetup progress`: my scores, notebook by notebook;
- `python -m labsetup progress --learner alice`: alice's scores from this lab directory;
- `python -m labsetup progress --collect handins/`: every learner file in a directory (or listed files);
- `python -m labsetup progress --collect a.json b.json --format json`: the same as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from labsetup.errors import InputError, LabError
from labsetup.paths import lab_dir, learner_name
from labsetup.quiz.bank import NOTEBOOK_STEMS, load_bank
from labsetup.quiz.store import Progress, ProgressStore, safe_name

log = logging.getLogger(__name__)

FORMATS = ("table", "json")


@dataclass(frozen=True)
class ScoreRow:
    """One learner's result for one notebook's quiz."""

    learner: str
    notebook: str
    correct: int
    total: int
    answered: int
    attempts: int
    revealed: int

    @property
    def percent(self) -> int:
        """Return the score in percent of the notebook's questions (0 when the total is unknown)."""
        return round(100 * self.correct / self.total) if self.total else 0


def bank_totals(notebooks: Iterable[str] = NOTEBOOK_STEMS) -> dict[str, int]:
    """Return the number of questions per notebook from the banks; a broken bank is skipped with a warning."""
    totals = {}
    for stem in notebooks:
        try:
            totals[stem] = len(load_bank(stem).questions)
        except LabError as err:
            log.warning("cannot count questions of %s: %s", stem, err)
    return totals


def learner_rows(progress: Progress, totals: Mapping[str, int] | None = None) -> list[ScoreRow]:
    """Return one row per notebook for a learner: every notebook in `totals` plus any with records.

    Args:
        progress: The learner's progress.
        totals: Questions per notebook (if unset, counted from the banks); a notebook missing here
            uses the total stored with the learner's answers.
    """
    totals = bank_totals() if totals is None else totals
    rows = []
    for stem in sorted(set(totals) | set(progress.notebooks)):
        nb = progress.notebooks.get(stem)
        records = list(nb.questions.values()) if nb else []
        rows.append(
            ScoreRow(
                learner=progress.learner,
                notebook=stem,
                correct=nb.score if nb else 0,
                total=totals.get(stem, nb.total if nb else 0),
                answered=nb.answered if nb else 0,
                attempts=sum(r.attempts for r in records),
                revealed=sum(1 for r in records if r.revealed),
            )
        )
    return rows


def learner_summary(learner: str | None = None, directory: Path | None = None) -> list[ScoreRow]:
    """Return a learner's rows from the lab's progress directory.

    Args:
        learner: The learner; if unset, `labsetup.paths.learner_name()`.
        directory: The progress directory; if unset, `<lab dir>/progress`.
    """
    learner = safe_name(learner) if learner else learner_name()
    path = (directory or lab_dir() / "progress") / f"{learner}.json"
    return learner_rows(ProgressStore(path, learner).load(repair=False))


def progress_files(sources: Iterable[str | Path]) -> list[Path]:
    """Expand files and directories (their *.json files) into a sorted list of progress files.

    Raises:
        InputError: A source does not exist, or nothing was found.
    """
    files: set[Path] = set()
    for source in sources:
        path = Path(source).expanduser()
        if path.is_dir():
            files.update(p for p in path.glob("*.json") if p.is_file())
        elif path.is_file():
            files.add(path)
        else:
            raise InputError(f"{path}: no such file or directory (expected learners' progress .json files)")
    if not files:
        raise InputError(f"no progress .json files found in: {', '.join(str(s) for s in sources)}")
    return sorted(files)


def collect_progress(
    sources: Iterable[str | Path], totals: Mapping[str, int] | None = None
) -> list[ScoreRow]:
    """Read several learners' progress files (read-only) into one list of rows, learner x notebook.

    Args:
        sources: Progress files and/or directories holding them.
        totals: Questions per notebook (if unset, counted from the banks).

    Raises:
        InputError: A source does not exist, or no file was found.
    """
    totals = bank_totals() if totals is None else totals
    rows = []
    for path in progress_files(list(sources)):
        rows.extend(learner_rows(ProgressStore(path).load(repair=False), totals))
    return sorted(rows, key=lambda r: (r.learner, r.notebook))


def format_rows(rows: Iterable[ScoreRow], fmt: str = "table") -> str:
    """Render rows as an aligned text table or as JSON (a list of objects with a `percent` field)."""
    rows = list(rows)
    if fmt == "json":
        return json.dumps([{**asdict(r), "percent": r.percent} for r in rows], indent=2)
    if fmt != "table":
        raise InputError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    header = ("learner", "notebook", "score", "correct", "total", "answered", "attempts", "revealed")
    body = [
        (
            r.learner,
            r.notebook,
            f"{r.percent}%",
            str(r.correct),
            str(r.total),
            str(r.answered),
            str(r.attempts),
            str(r.revealed),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in [header, *body]
    )


def add_progress_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `progress` subcommand's options to its parser."""
    parser.add_argument(
        "--learner",
        default=None,
        help="whose progress to show (default: $SA_LAB_LEARNER or your login name); "
        "with --collect, show only this learner",
    )
    parser.add_argument(
        "--collect",
        nargs="+",
        metavar="DIR_OR_FILE",
        default=None,
        help="instructor: read these progress files or directories of them (read-only)",
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")


def cmd_progress(args: argparse.Namespace) -> int:
    """Print a learner's quiz progress, or with --collect a table of several learners; return 0.

    Raises:
        InputError: --collect names a missing path, or --learner matches no collected file.
    """
    fmt = getattr(args, "format", "table")
    learner = getattr(args, "learner", None)
    if getattr(args, "collect", None):
        rows = collect_progress(args.collect)
        if learner:
            rows = [r for r in rows if r.learner == learner]
            if not rows:
                raise InputError(f"no progress for learner {learner!r} in: {', '.join(args.collect)}")
    else:
        base = getattr(args, "lab_dir", None)
        rows = learner_summary(learner, Path(base) / "progress" if base else None)
    print(format_rows(rows, fmt))
    return 0
