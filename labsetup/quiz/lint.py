"""Consistency checks between a bank's answer key, its explanations and its feedback.

The schema proves a bank is well formed; these checks catch a bank that is well formed but wrong,
such as an answer key pointing at option B while the explanation argues for option A:

- the explanation of a question must mention the key phrase (or the text) of every correct option;
- a correct option's feedback must not open by calling it wrong ("Wrong", "Incorrect", "Not quite", "No");
- a wrong option's feedback must not open by calling it right ("Correct", "Right", "Yes", "Exactly");
- a key phrase must be specific: it must not also occur in the text of a wrong option.
"""

from __future__ import annotations

import re

from labsetup.quiz.bank import Bank, Question

_NEGATIVE = re.compile(r"^\W*(wrong|incorrect|not quite|not correct|nope|no)\b", re.IGNORECASE)
_POSITIVE = re.compile(r"^\W*(correct|right|yes|exactly|that's it|true)\b", re.IGNORECASE)


def normalize(text: str) -> str:
    """Return text lower-cased, with markup (` and *) removed and whitespace collapsed, for comparisons."""
    return " ".join(text.replace("`", "").replace("*", "").lower().split())


def question_problems(question: Question) -> list[str]:
    """Return every inconsistency of one question, each naming the question and the option."""
    problems = []
    explain = normalize(question.explain)
    for opt in question.options:
        where = f"question {question.id!r} option {opt.id!r}"
        if opt.id in question.answer:
            if normalize(opt.phrase) not in explain:
                problems.append(
                    f"{where} is marked correct but the explanation does not mention {opt.phrase!r}"
                )
            if _NEGATIVE.match(opt.feedback):
                problems.append(
                    f"{where} is marked correct but its feedback calls it wrong: {opt.feedback!r}"
                )
            wrong_texts = [normalize(o.text) for o in question.options if o.id not in question.answer]
            if opt.key_phrase and any(normalize(opt.key_phrase) in t for t in wrong_texts):
                problems.append(
                    f"{where}: key phrase {opt.key_phrase!r} also appears in a wrong option's text"
                )
        elif _POSITIVE.match(opt.feedback):
            problems.append(f"{where} is marked wrong but its feedback calls it right: {opt.feedback!r}")
    return problems


def bank_problems(bank: Bank) -> list[str]:
    """Return every inconsistency of a bank, each prefixed with the bank's file."""
    return [f"{bank.source}: {p}" for q in bank.questions for p in question_problems(q)]
