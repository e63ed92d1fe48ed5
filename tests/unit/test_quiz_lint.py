"""Answer key vs explanation: the repo's banks agree with themselves, and a wrong key is caught."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from labsetup.quiz.bank import Bank, Question, bank_dir, load_bank, parse_bank
from labsetup.quiz.lint import bank_problems, question_problems

BANK_FILES = sorted(bank_dir().glob("*.yaml"))

CONSISTENT = textwrap.dedent(
    """\
    notebook: 02-disabling-automount
    questions:
      - id: wins
        type: single
        prompt: Pod says true, ServiceAccount says false. Token mounted?
        options:
          - id: yes-pod
            text: Yes, the pod's setting wins.
            key_phrase: pod's setting wins
            feedback: Right, admission reads the pod first.
          - id: no-false
            text: No, false always wins.
            feedback: Tempting, but the pod is read first.
        answer: yes-pod
        explain: Admission reads the pod's field first, so the **pod's setting wins**.
    """
)


def _bank(text: str = CONSISTENT) -> Bank:
    return parse_bank(text, source="lint.yaml")


@pytest.mark.parametrize("path", BANK_FILES, ids=[p.stem for p in BANK_FILES])
def test_repo_bank_is_consistent(path: Path) -> None:
    assert bank_problems(load_bank(path)) == []


def test_consistent_bank_passes() -> None:
    assert bank_problems(_bank()) == []


def test_swapped_answer_key_is_caught() -> None:
    bank = _bank(CONSISTENT.replace("answer: yes-pod", "answer: no-false"))
    problems = bank_problems(bank)
    assert any(
        "option 'no-false' is marked correct but the explanation does not mention" in p for p in problems
    )
    assert all(p.startswith("lint.yaml: question 'wins'") for p in problems)


def test_correct_option_with_negative_feedback_is_caught() -> None:
    text = CONSISTENT.replace(
        "feedback: Right, admission reads the pod first.", "feedback: Wrong, false wins."
    )
    assert bank_problems(_bank(text)) == [
        "lint.yaml: question 'wins' option 'yes-pod' is marked correct but its feedback calls it wrong: "
        "'Wrong, false wins.'"
    ]


def test_wrong_option_with_positive_feedback_is_caught() -> None:
    text = CONSISTENT.replace(
        "feedback: Tempting, but the pod is read first.", "feedback: Correct! False wins."
    )
    assert bank_problems(_bank(text)) == [
        "lint.yaml: question 'wins' option 'no-false' is marked wrong but its feedback calls it right: "
        "'Correct! False wins.'"
    ]


def test_key_phrase_that_also_fits_a_wrong_option_is_caught() -> None:
    text = CONSISTENT.replace("key_phrase: pod's setting wins", "key_phrase: wins")
    assert any(
        "key phrase 'wins' also appears in a wrong option's text" in p for p in bank_problems(_bank(text))
    )


def test_explanation_markup_and_case_do_not_matter() -> None:
    text = CONSISTENT.replace("**pod's setting wins**", "`Pod's   setting\n          WINS`")
    assert bank_problems(_bank(text)) == []


def _moved_keys(q: Question) -> list[frozenset[str]]:
    """Every answer key that differs from the real one by swapping one correct option for a wrong one."""
    wrong = [o.id for o in q.options if o.id not in q.answer]
    return [(q.answer - {right}) | {bad} for right in q.answer for bad in wrong]


@pytest.mark.parametrize("path", BANK_FILES, ids=[p.stem for p in BANK_FILES])
def test_every_wrong_key_in_the_repo_banks_would_be_caught(path: Path) -> None:
    """The check is meaningful for the real banks: moving any correct mark onto a wrong option fails it."""
    for q in load_bank(path).questions:
        for key in _moved_keys(q):
            broken = dataclasses.replace(q, answer=key)
            assert question_problems(broken), (
                f"{path.name}: question {q.id!r} with key {sorted(key)} passes the check"
            )
