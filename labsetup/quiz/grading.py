"""The grading model: pure functions from a question and an answer to a Result.

Nothing here knows about widgets or files, so tests (and other front ends) call it directly.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

from labsetup.errors import InputError
from labsetup.quiz.bank import Option, Question

Answer = str | Iterable[str] | None
"""An option id (single choice), option ids (multiple choice), or None/empty for 'nothing chosen'."""

NO_ANSWER = "Choose an answer first."


@dataclass(frozen=True)
class Result:
    """The outcome of grading one answer.

    Attributes:
        question_id: The graded question.
        answered: False when nothing was chosen; such a try counts for nothing.
        correct: True when the chosen options are exactly the correct ones.
        selected: The chosen option ids, in the question's order.
        feedback: (option id, feedback) for each chosen option that has feedback.
        missed: Correct options that were not chosen.
        wrong: Chosen options that are not correct.
        message: One line for the learner ('Correct.', 'Not quite: ...', 'Choose an answer first.').
    """

    question_id: str
    answered: bool
    correct: bool
    selected: tuple[str, ...] = ()
    feedback: tuple[tuple[str, str], ...] = ()
    missed: tuple[str, ...] = ()
    wrong: tuple[str, ...] = ()
    message: str = ""


def normalize_answer(question: Question, answer: Answer) -> tuple[str, ...]:
    """Return the chosen option ids in the question's order, checking that each one exists.

    Raises:
        InputError: An id is not an option of the question, or a single-choice question got several ids.
    """
    if answer is None:
        chosen: list[str] = []
    elif isinstance(answer, str):
        chosen = [answer] if answer else []
    else:
        chosen = list(answer)
    for option_id in chosen:
        if not isinstance(option_id, str):
            raise InputError(f"question {question.id!r}: an answer must be option ids, got {option_id!r}")
        question.option(option_id)
    if question.type == "single" and len(set(chosen)) > 1:
        raise InputError(
            f"question {question.id!r} takes one answer, got {len(set(chosen))}: {', '.join(chosen)}"
        )
    return tuple(o.id for o in question.options if o.id in set(chosen))


def grade(question: Question, answer: Answer) -> Result:
    """Grade an answer to a question.

    Args:
        question: The question, with its answer key.
        answer: The chosen option id(s); None or empty means nothing was chosen.

    Returns:
        The Result; `answered` is False (and `message` says to choose) when nothing was chosen.

    Raises:
        InputError: The answer names an option the question does not have.
    """
    selected = normalize_answer(question, answer)
    if not selected:
        return Result(question_id=question.id, answered=False, correct=False, message=NO_ANSWER)
    chosen = set(selected)
    missed = tuple(o.id for o in question.options if o.id in question.answer and o.id not in chosen)
    wrong = tuple(o.id for o in question.options if o.id in chosen and o.id not in question.answer)
    correct = not missed and not wrong
    feedback = tuple(
        (oid, question.option(oid).feedback) for oid in selected if question.option(oid).feedback
    )
    return Result(
        question_id=question.id,
        answered=True,
        correct=correct,
        selected=selected,
        feedback=feedback,
        missed=missed,
        wrong=wrong,
        message=_message(question, correct, missed, wrong),
    )


def _message(question: Question, correct: bool, missed: tuple[str, ...], wrong: tuple[str, ...]) -> str:
    if correct:
        return "Correct."
    if question.type == "single":
        return "Not quite."
    found = len(question.answer) - len(missed)
    parts = [f"you found {found} of the {len(question.answer)} correct options"]
    if wrong:
        parts.append(f"{len(wrong)} of your choices {'is' if len(wrong) == 1 else 'are'} wrong")
    return "Not quite: " + " and ".join(parts) + "."


def option_order(question: Question, seed: str | int | None = None) -> tuple[Option, ...]:
    """Return the options in display order: shuffled if the question says so, the same for the same seed.

    Args:
        question: The question.
        seed: Makes the order reproducible (the quiz uses the learner's name); None gives bank order.
    """
    if not question.shuffle or seed is None:
        return question.options
    options = list(question.options)
    random.Random(f"{seed}/{question.id}").shuffle(options)
    return tuple(options)
