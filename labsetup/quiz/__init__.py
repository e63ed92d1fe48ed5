"""Quizzes: question banks as data, a grading model, an ipywidgets view and per-learner progress.

A notebook ends with `labsetup.quiz.show_quiz("03-projected-tokens")`. Modules, one job each:
`bank` (load and validate YAML banks), `grading` (pure `grade()`), `session` (attempts and score),
`widget` (the view), `store` (progress file), `progress` (reports and the CLI), `lint` (answer key
vs explanation checks), `show` (the notebook call).
"""

from __future__ import annotations

from labsetup.quiz.bank import NOTEBOOK_STEMS, Bank, Option, Question, bank_path, load_bank, parse_bank
from labsetup.quiz.grading import Result, grade, option_order
from labsetup.quiz.lint import bank_problems
from labsetup.quiz.progress import (
    ScoreRow,
    add_progress_arguments,
    cmd_progress,
    collect_progress,
    format_rows,
    learner_summary,
)
from labsetup.quiz.session import QuizSession
from labsetup.quiz.show import show_quiz
from labsetup.quiz.store import AnswerRecord, NotebookProgress, Progress, ProgressStore
from labsetup.quiz.widget import QuestionWidget, QuizWidget

__all__ = [
    "AnswerRecord",
    "Bank",
    "NOTEBOOK_STEMS",
    "NotebookProgress",
    "Option",
    "Progress",
    "ProgressStore",
    "Question",
    "QuestionWidget",
    "QuizSession",
    "QuizWidget",
    "Result",
    "ScoreRow",
    "add_progress_arguments",
    "bank_path",
    "bank_problems",
    "cmd_progress",
    "collect_progress",
    "format_rows",
    "grade",
    "learner_summary",
    "load_bank",
    "option_order",
    "parse_bank",
    "show_quiz",
]
