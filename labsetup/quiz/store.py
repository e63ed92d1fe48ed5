"""Learner progress on disk: one JSON file per learner, written atomically, never lost to corruption.

The file is `<lab dir>/progress/<learner>.json`. It is valid JSON laid out with one notebook per line,
so a damaged file can be recovered notebook by notebook. Every save also refreshes `<learner>.json.bak`.
When the file does not parse, the store keeps every notebook it can still read (from the file, else from
the backup), moves the damaged file aside as `<learner>.json.corrupt-<time>` and logs a warning saying so.
Saving problems (read-only disk, ...) are logged, never raised: a quiz must not crash a notebook.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labsetup._files import write_atomic
from labsetup.paths import lab_dir, learner_name

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no fcntl; saves are then unlocked
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

FORMAT = 1
"""Version of the file layout, stored in the file."""


class CorruptProgressError(ValueError):
    """A progress file (or one notebook entry of it) does not have the expected shape."""


@dataclass
class AnswerRecord:
    """What a learner did with one question.

    Attributes:
        attempts: Graded tries (a check with nothing chosen does not count).
        wrong: Tries that were wrong.
        solved: Answered correctly at least once.
        revealed: The answer was shown before the question was solved (then it earns no point).
        first_try: Solved on the first graded try.
        answer: The last graded answer (option ids).
        updated: When this record last changed (UTC, ISO 8601).
    """

    attempts: int = 0
    wrong: int = 0
    solved: bool = False
    revealed: bool = False
    first_try: bool = False
    answer: tuple[str, ...] = ()
    updated: str = ""

    @property
    def points(self) -> int:
        """Return 1 if the question counts as correct: solved without having the answer shown first."""
        return int(self.solved and not self.revealed)

    def to_json(self) -> dict[str, Any]:
        """Return the record as JSON-ready data."""
        return {
            "attempts": self.attempts,
            "wrong": self.wrong,
            "solved": self.solved,
            "revealed": self.revealed,
            "first_try": self.first_try,
            "answer": list(self.answer),
            "updated": self.updated,
        }

    @classmethod
    def from_json(cls, raw: Any) -> AnswerRecord:
        """Build a record from JSON data; raise CorruptProgressError if it has the wrong shape."""
        if not isinstance(raw, Mapping):
            raise CorruptProgressError(f"an answer record must be an object, got {type(raw).__name__}")
        ints = {k: raw.get(k, 0) for k in ("attempts", "wrong")}
        bools = {k: raw.get(k, False) for k in ("solved", "revealed", "first_try")}
        answer, updated = raw.get("answer", []), raw.get("updated", "")
        if not all(type(v) is int and v >= 0 for v in ints.values()):
            raise CorruptProgressError(f"attempts/wrong must be non-negative integers, got {ints}")
        if not all(isinstance(v, bool) for v in bools.values()):
            raise CorruptProgressError(f"solved/revealed/first_try must be true or false, got {bools}")
        if not isinstance(answer, list) or not all(isinstance(a, str) for a in answer):
            raise CorruptProgressError(f"answer must be a list of option ids, got {answer!r}")
        if not isinstance(updated, str):
            raise CorruptProgressError(f"updated must be a string, got {updated!r}")
        return cls(**ints, **bools, answer=tuple(answer), updated=updated)


@dataclass
class NotebookProgress:
    """A learner's records for one notebook's quiz."""

    total: int = 0
    questions: dict[str, AnswerRecord] = field(default_factory=dict)

    @property
    def score(self) -> int:
        """Return the number of questions that count as correct."""
        return sum(r.points for r in self.questions.values())

    @property
    def answered(self) -> int:
        """Return the number of questions tried (graded at least once, or revealed)."""
        return sum(1 for r in self.questions.values() if r.attempts or r.revealed)

    def to_json(self) -> dict[str, Any]:
        """Return the notebook's records as JSON-ready data."""
        return {"total": self.total, "questions": {k: v.to_json() for k, v in sorted(self.questions.items())}}

    @classmethod
    def from_json(cls, raw: Any) -> NotebookProgress:
        """Build a notebook's records from JSON data; raise CorruptProgressError if it has the wrong shape."""
        if not isinstance(raw, Mapping) or not isinstance(raw.get("questions", {}), Mapping):
            raise CorruptProgressError("a notebook entry must be an object with a 'questions' object")
        total = raw.get("total", 0)
        if type(total) is not int or total < 0:
            raise CorruptProgressError(f"total must be a non-negative integer, got {total!r}")
        questions = {str(k): AnswerRecord.from_json(v) for k, v in raw.get("questions", {}).items()}
        return cls(total=total, questions=questions)


@dataclass
class Progress:
    """All quiz records of one learner."""

    learner: str
    notebooks: dict[str, NotebookProgress] = field(default_factory=dict)


def safe_name(name: str) -> str:
    """Return a learner name made safe for a file name, the way `labsetup.paths.learner_name()` does."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "learner"


def now() -> str:
    """Return the current UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def dumps(progress: Progress) -> str:
    """Serialise progress as JSON with one notebook per line (what makes line-wise recovery possible)."""
    head = {"format": FORMAT, "learner": progress.learner, "updated": now()}
    lines = [
        f"{json.dumps(stem)}: {json.dumps(nb.to_json(), sort_keys=True)}"
        for stem, nb in sorted(progress.notebooks.items())
    ]
    return json.dumps(head)[:-1] + ', "notebooks": {\n' + ",\n".join(lines) + "\n}}\n"


def loads(text: str, default_learner: str) -> Progress:
    """Parse a whole progress file strictly.

    Raises:
        CorruptProgressError: The text is not JSON, or any part of it has the wrong shape.
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise CorruptProgressError(f"not valid JSON ({err})") from err
    if not isinstance(raw, Mapping) or not isinstance(raw.get("notebooks"), Mapping):
        raise CorruptProgressError("expected an object with a 'notebooks' object")
    if raw.get("format", FORMAT) != FORMAT:
        raise CorruptProgressError(f"unknown format {raw.get('format')!r}; this lab writes format {FORMAT}")
    learner = raw.get("learner") if isinstance(raw.get("learner"), str) else default_learner
    notebooks = {}
    for stem, entry in raw["notebooks"].items():
        try:
            notebooks[str(stem)] = NotebookProgress.from_json(entry)
        except CorruptProgressError as err:
            raise CorruptProgressError(f"notebook {stem!r}: {err}") from err
    return Progress(learner=learner or default_learner, notebooks=notebooks)


def salvage(text: str, default_learner: str) -> Progress:
    """Recover every notebook line of a damaged progress file that still parses on its own."""
    progress = Progress(learner=default_learner)
    for line in text.splitlines():
        line = line.strip().rstrip(",")
        if not line.startswith('"'):
            continue
        try:
            entry = json.loads("{" + line + "}")
            (stem, raw), *rest = entry.items()
            if rest:
                continue
            progress.notebooks[str(stem)] = NotebookProgress.from_json(raw)
        except (json.JSONDecodeError, CorruptProgressError, ValueError):
            continue
    return progress


class ProgressStore:
    """Reads and writes one learner's progress file.

    Args:
        path: The progress file; if unset, `<lab dir>/progress/<learner>.json`.
        learner: The learner's name; if unset, `labsetup.paths.learner_name()` (or the file's stem).
    """

    def __init__(self, path: Path | None = None, learner: str | None = None) -> None:
        if path is None:
            learner = safe_name(learner) if learner else learner_name()
            path = lab_dir() / "progress" / f"{learner}.json"
        self.path = Path(path)
        self.learner = learner or self.path.stem

    @property
    def backup_path(self) -> Path:
        """Return the backup written next to the file on every save."""
        return self.path.with_name(self.path.name + ".bak")

    def load(self, repair: bool = True) -> Progress:
        """Return the learner's progress; never raises for a missing or damaged file.

        Args:
            repair: If true (the learner's own store), move a damaged file aside and write back what was
                recovered. If false (an instructor collecting files), leave every file untouched.
        """
        main = self._read(self.path)
        if main is not None:
            try:
                return loads(main, self.learner)
            except CorruptProgressError as err:
                problem = f"it is damaged ({err})"
            recovered = salvage(main, self.learner)
        else:
            if not self.backup_path.exists():
                log.debug("no progress file at %s yet", self.path)
                return Progress(learner=self.learner)
            problem, recovered = "it is missing", Progress(learner=self.learner)
        backup = self._read_backup()
        merged = Progress(learner=recovered.learner, notebooks={**backup.notebooks, **recovered.notebooks})
        kept = ", ".join(sorted(merged.notebooks)) or "none"
        if not repair:
            log.warning(
                "progress file %s: %s; read what could be recovered (notebooks: %s)", self.path, problem, kept
            )
            return merged
        moved = self._move_aside() if main is not None else None
        saved = self._save_quietly(merged)
        log.warning(
            "progress file %s: %s. %sRecovered notebooks: %s (from the file and its backup %s)%s.",
            self.path,
            problem,
            f"The damaged file was moved to {moved}. " if moved else "",
            kept,
            self.backup_path,
            "" if saved else "; the repaired file could not be written",
        )
        return merged

    def save(self, progress: Progress) -> None:
        """Write the progress file atomically (mode 0600) and refresh its backup.

        Raises:
            OSError: The file could not be written.
        """
        text = dumps(progress)
        write_atomic(self.path, text)
        write_atomic(self.backup_path, text)

    def record(self, notebook: str, question_id: str, record: AnswerRecord, total: int) -> bool:
        """Store one question's record (re-reading the file first, so other notebooks' answers are kept).

        Returns:
            True if it was saved; False if saving failed (logged as a warning, the quiz keeps going).
        """
        try:
            with self._lock():
                progress = self.load()
                entry = progress.notebooks.setdefault(notebook, NotebookProgress())
                entry.total = total
                entry.questions[question_id] = record
                self.save(progress)
            return True
        except OSError as err:
            log.warning(
                "could not save quiz progress to %s: %s; answers are kept until the kernel restarts",
                self.path,
                err,
            )
            return False

    def notebook(self, notebook: str) -> NotebookProgress:
        """Return the stored records of one notebook (empty if none)."""
        return self.load().notebooks.get(notebook, NotebookProgress())

    def _read(self, path: Path) -> str | None:
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as err:
            log.warning("cannot read progress file %s: %s", path, err)
            return "" if isinstance(err, UnicodeDecodeError) else None

    def _read_backup(self) -> Progress:
        text = self._read(self.backup_path)
        if text is None:
            return Progress(learner=self.learner)
        try:
            return loads(text, self.learner)
        except CorruptProgressError:
            return salvage(text, self.learner)

    def _move_aside(self) -> Path | None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        try:
            os.replace(self.path, target)
        except OSError as err:
            log.warning("could not move damaged progress file %s aside: %s", self.path, err)
            return None
        return target

    def _save_quietly(self, progress: Progress) -> bool:
        try:
            self.save(progress)
        except OSError as err:
            log.warning("could not write progress file %s: %s", self.path, err)
            return False
        return True

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """Hold an exclusive lock on the learner's lock file (two notebooks saving at once)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fcntl is None:  # pragma: no cover
            yield
            return
        fd = os.open(self.path.with_name(f".{self.path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
