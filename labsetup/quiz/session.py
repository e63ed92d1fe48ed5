"""A learner's pass through one bank: attempts, score, reveals, saved to the progress store.

The session is the model behind the widget: the view calls `submit`, `reveal` and `retry` and only
renders what they return.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from labsetup.quiz.bank import Bank, Question
from labsetup.quiz.grading import Answer, Result, grade
from labsetup.quiz.store import AnswerRecord, ProgressStore, now

log = logging.getLogger(__name__)


class QuizSession:
    """Grades answers to one bank and keeps the score, optionally persisted per learner.

    Args:
        bank: The questions.
        store: Where to save each answer; if unset, nothing is saved.
        restore: If true, start from the records already in the store (a re-run notebook keeps its score).
    """

    def __init__(self, bank: Bank, store: ProgressStore | None = None, restore: bool = True) -> None:
        self.bank = bank
        self.store = store
        self.records: dict[str, AnswerRecord] = {q.id: AnswerRecord() for q in bank.questions}
        if store is not None and restore:
            saved = store.notebook(bank.notebook).questions
            self.records.update({qid: rec for qid, rec in saved.items() if qid in self.records})

    @property
    def score(self) -> int:
        """Return the number of questions solved without having the answer shown first."""
        return sum(r.points for r in self.records.values())

    @property
    def total(self) -> int:
        """Return the number of questions in the bank."""
        return len(self.bank.questions)

    @property
    def answered(self) -> int:
        """Return the number of questions tried at least once (or revealed)."""
        return sum(1 for r in self.records.values() if r.attempts or r.revealed)

    def question(self, question_id: str) -> Question:
        """Return a question of the bank; raise InputError naming the bank for an unknown id."""
        return self.bank.question(question_id)

    def submit(self, question_id: str, answer: Answer) -> Result:
        """Grade an answer and record it.

        A try with nothing chosen is not recorded and changes no score.

        Raises:
            InputError: Unknown question id, or an answer naming an option the question lacks.
        """
        question = self.question(question_id)
        result = grade(question, answer)
        if not result.answered:
            return result
        old = self.records[question_id]
        self.records[question_id] = replace(
            old,
            attempts=old.attempts + 1,
            wrong=old.wrong + (not result.correct),
            solved=old.solved or result.correct,
            first_try=old.first_try or (result.correct and old.attempts == 0 and not old.revealed),
            answer=result.selected,
            updated=now(),
        )
        self._save(question_id)
        return result

    def reveal(self, question_id: str) -> Question:
        """Mark a question's answer as shown (it then earns no point unless already solved) and return it."""
        question = self.question(question_id)
        old = self.records[question_id]
        if not old.solved and not old.revealed:
            self.records[question_id] = replace(old, revealed=True, updated=now())
            self._save(question_id)
        return question

    def record(self, question_id: str) -> AnswerRecord:
        """Return the current record of a question."""
        self.question(question_id)
        return self.records[question_id]

    def _save(self, question_id: str) -> None:
        if self.store is not None:
            self.store.record(self.bank.notebook, question_id, self.records[question_id], self.total)
