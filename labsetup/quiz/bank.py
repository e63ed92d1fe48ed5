"""Question banks: load a notebook's YAML bank, validate it and turn it into plain objects.

A bank lives in `notebooks/quizzes/<notebook-stem>.yaml` and follows `labsetup/data/quiz-schema.json`.
Every problem is reported as an `InputError` that names the file and the field, e.g.
`notebooks/quizzes/03-projected-tokens.yaml: questions[1] (id 'min-expiration').answer: ...`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml

from labsetup.errors import InputError
from labsetup.paths import REPO_ROOT

log = logging.getLogger(__name__)

NOTEBOOK_STEMS: tuple[str, ...] = (
    "00-setup",
    "01-default-serviceaccount",
    "02-disabling-automount",
    "03-projected-tokens",
    "04-one-sa-per-workload",
    "05-auditing-rbac",
)
"""The lesson notebooks; each has exactly one question bank."""

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "data" / "quiz-schema.json"
"""The JSON schema every bank must satisfy."""

QuestionType = Literal["single", "multiple"]


@dataclass(frozen=True)
class Option:
    """One answer option of a question."""

    id: str
    text: str
    feedback: str = ""
    key_phrase: str = ""

    @property
    def phrase(self) -> str:
        """Return the words an explanation must contain when this option is correct."""
        return self.key_phrase or self.text


@dataclass(frozen=True)
class Question:
    """One question: its options, the answer key and the explanation."""

    id: str
    type: QuestionType
    prompt: str
    options: tuple[Option, ...]
    answer: frozenset[str]
    explain: str
    shuffle: bool = False
    source: str = ""

    def option(self, option_id: str) -> Option:
        """Return the option with this id; raise InputError naming the known ids if there is none."""
        for opt in self.options:
            if opt.id == option_id:
                return opt
        known = ", ".join(o.id for o in self.options)
        raise InputError(f"question {self.id!r} has no option {option_id!r}; its options are: {known}")

    @property
    def correct_options(self) -> tuple[Option, ...]:
        """Return the correct options in the order the bank lists them."""
        return tuple(o for o in self.options if o.id in self.answer)


@dataclass(frozen=True)
class Bank:
    """The questions of one notebook, as loaded from its bank file."""

    notebook: str
    title: str
    questions: tuple[Question, ...]
    source: str = "<memory>"

    def question(self, question_id: str) -> Question:
        """Return the question with this id; raise InputError naming the bank and its ids if there is none."""
        for q in self.questions:
            if q.id == question_id:
                return q
        known = ", ".join(q.id for q in self.questions)
        raise InputError(f"{self.source}: no question with id {question_id!r}; known ids: {known}")


def bank_dir() -> Path:
    """Return the directory that holds the question banks (notebooks/quizzes in the repository)."""
    return REPO_ROOT / "notebooks" / "quizzes"


def bank_path(notebook: str, directory: Path | None = None) -> Path:
    """Return the bank file of a notebook stem, e.g. '03-projected-tokens'.

    Args:
        notebook: A notebook stem from NOTEBOOK_STEMS.
        directory: Where the banks are; if unset, `bank_dir()`.

    Raises:
        InputError: The stem is not one of the lab's notebooks.
    """
    if notebook not in NOTEBOOK_STEMS:
        raise InputError(
            f"unknown notebook {notebook!r}; the lab's notebooks are: {', '.join(NOTEBOOK_STEMS)}"
        )
    return (directory or bank_dir()) / f"{notebook}.yaml"


@cache
def load_schema() -> dict[str, Any]:
    """Return the bank JSON schema (read once)."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def load_bank(notebook: str | Path, directory: Path | None = None) -> Bank:
    """Load and validate a question bank.

    Args:
        notebook: A notebook stem ('03-projected-tokens') or the path of a bank file.
        directory: Where to look for a stem's bank; if unset, `bank_dir()`.

    Raises:
        InputError: The file is missing, is not YAML, or breaks the schema or the bank rules;
            the message names the file and the field.
    """
    path = Path(notebook) if isinstance(notebook, Path) or notebook.endswith((".yaml", ".yml")) else None
    path = path or bank_path(str(notebook), directory)
    source = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise InputError(
            f"{source}: question bank not found; create it from another notebook's bank"
        ) from err
    except OSError as err:
        raise InputError(f"{source}: cannot read the question bank: {err}") from err
    bank = parse_bank(text, source=source, expected_notebook=path.stem)
    log.debug("loaded %d questions from %s", len(bank.questions), source)
    return bank


def parse_bank(text: str, source: str = "<memory>", expected_notebook: str | None = None) -> Bank:
    """Parse YAML text into a validated Bank.

    Args:
        text: The YAML document.
        source: How to name the document in error messages (usually its path).
        expected_notebook: If set, the bank's `notebook` field must equal it (the file stem).

    Raises:
        InputError: The text is not valid YAML or not a valid bank.
    """
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise InputError(f"{source}: not valid YAML at {where}: {err.problem or err}") from err
    except yaml.YAMLError as err:
        raise InputError(f"{source}: not valid YAML: {err}") from err
    return bank_from_data(data, source=source, expected_notebook=expected_notebook)


def bank_from_data(data: Any, source: str = "<memory>", expected_notebook: str | None = None) -> Bank:
    """Validate already-parsed bank data (schema, then cross-field rules) and build the Bank.

    Raises:
        InputError: One line per problem, each naming the source and the field.
    """
    if not isinstance(data, Mapping):
        raise InputError(
            f"{source}: a question bank must be a mapping with 'notebook' and 'questions', "
            f"got {type(data).__name__}"
        )
    problems = schema_problems(data) or rule_problems(data, expected_notebook)
    if problems:
        raise InputError(
            f"{source}: invalid question bank:\n" + "\n".join(f"  {source}: {p}" for p in problems)
        )
    default_shuffle = bool(data.get("shuffle", False))
    questions = tuple(_question(q, default_shuffle) for q in data["questions"])
    return Bank(notebook=data["notebook"], title=data.get("title", ""), questions=questions, source=source)


def schema_problems(data: Mapping[str, Any]) -> list[str]:
    """Return 'field: message' lines for every schema violation, most relevant error per field."""
    validator = jsonschema.Draft202012Validator(load_schema())
    by_path: dict[tuple[str | int, ...], list[jsonschema.ValidationError]] = {}
    for error in validator.iter_errors(data):
        by_path.setdefault(tuple(error.absolute_path), []).append(error)
    problems = []
    for path in sorted(by_path, key=lambda p: [str(x).zfill(6) for x in p]):
        best = jsonschema.exceptions.best_match(by_path[path])
        problems.append(f"{field_name(data, path)}: {best.message}")
    return problems


def rule_problems(data: Mapping[str, Any], expected_notebook: str | None = None) -> list[str]:
    """Return the problems the schema cannot express: unique ids, answers that name real options."""
    problems = []
    if expected_notebook is not None and data["notebook"] != expected_notebook:
        problems.append(
            f"notebook: is {data['notebook']!r} but the file is named after {expected_notebook!r}"
        )
    seen: set[str] = set()
    for i, q in enumerate(data["questions"]):
        where = field_name(data, ("questions", i))
        if q["id"] in seen:
            problems.append(f"{where}.id: duplicate question id {q['id']!r}")
        seen.add(q["id"])
        option_ids = [o["id"] for o in q["options"]]
        for dup in sorted({x for x in option_ids if option_ids.count(x) > 1}):
            problems.append(f"{where}.options: duplicate option id {dup!r}")
        answers = [q["answer"]] if isinstance(q["answer"], str) else q["answer"]
        for ans in answers:
            if ans not in option_ids:
                problems.append(
                    f"{where}.answer: {ans!r} is not one of the option ids ({', '.join(option_ids)})"
                )
    return problems


def field_name(data: Any, path: Sequence[str | int]) -> str:
    """Render a path such as ('questions', 1, 'answer') as "questions[1] (id 'x').answer"."""
    out = ""
    node = data
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, Sequence) and 0 <= part < len(node) else None
            if isinstance(node, Mapping) and isinstance(node.get("id"), str):
                out += f" (id {node['id']!r})"
        else:
            out += f".{part}" if out else part
            node = node.get(part) if isinstance(node, Mapping) else None
    return out or "(top level)"


def _question(raw: Mapping[str, Any], default_shuffle: bool) -> Question:
    answer = raw["answer"]
    return Question(
        id=raw["id"],
        type=raw["type"],
        prompt=raw["prompt"].strip(),
        options=tuple(
            Option(
                id=o["id"],
                text=o["text"].strip(),
                feedback=o.get("feedback", "").strip(),
                key_phrase=o.get("key_phrase", "").strip(),
            )
            for o in raw["options"]
        ),
        answer=frozenset([answer] if isinstance(answer, str) else answer),
        explain=raw["explain"].strip(),
        shuffle=bool(raw.get("shuffle", default_shuffle)),
        source=raw.get("source", ""),
    )


def _display(path: Path) -> str:
    """Name a file relative to the repository when it is inside it (shorter, stable messages)."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that rejects duplicate keys instead of silently keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)
