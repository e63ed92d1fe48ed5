"""The quiz view: ipywidgets that show a bank and hand every click to the QuizSession model.

Feedback and explanations are written to `HTML.value` (widget state), never printed and never sent
through an `Output` widget, so displaying a quiz prints nothing and tests can read what a learner sees.
Options are lettered (A, B, ...) in a wrapping HTML list; the RadioButtons/Checkboxes carry the letters,
so long option texts are never cut off.

CSS classes for browser tests: `lab-quiz` (root), `lab-quiz-title`, `lab-quiz-question` (plus
`lab-quiz-state-<open|wrong|solved|revealed>`), `lab-quiz-prompt`, `lab-quiz-options`, `lab-quiz-choices`,
`lab-quiz-check`, `lab-quiz-retry`, `lab-quiz-show-answer`, `lab-quiz-feedback`, `lab-quiz-explain`,
`lab-quiz-score`.
"""

from __future__ import annotations

import html
import logging
import re
import string
from collections.abc import Callable, Iterable
from typing import Literal

import ipywidgets as widgets

from labsetup.errors import LabError
from labsetup.quiz.bank import Bank, Option, Question
from labsetup.quiz.grading import Answer, Result, option_order
from labsetup.quiz.session import QuizSession

log = logging.getLogger(__name__)

State = Literal["open", "wrong", "solved", "revealed"]

_OK = '<span style="color: var(--jp-success-color1, #2e7d32)">&#10004;</span>'
_NO = '<span style="color: var(--jp-error-color1, #c62828)">&#10008;</span>'


def render_text(text: str) -> str:
    """Return text as HTML: escaped, with `code` and **bold** turned into tags."""
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)


class QuestionWidget(widgets.VBox):
    """One question: prompt, lettered options, choices, Check / Retry / Show answer, feedback.

    Args:
        session: The model that grades and records answers.
        question: The question to show.
        number: Its 1-based position in the quiz (shown in the prompt).
        seed: Seeds the option shuffle (if the question shuffles); None keeps bank order.
        on_change: Called after every graded try or reveal (the quiz refreshes its score).
    """

    def __init__(
        self,
        session: QuizSession,
        question: Question,
        number: int = 1,
        seed: str | int | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.session, self.question, self._on_change = session, question, on_change
        self.order: tuple[Option, ...] = option_order(question, seed)
        self.letters = {o.id: string.ascii_uppercase[i] for i, o in enumerate(self.order)}
        kind = "one answer" if question.type == "single" else "all that apply"
        self.prompt = _html(
            f"<b>Question {number}.</b> {render_text(question.prompt)} <i>({kind})</i>", "lab-quiz-prompt"
        )
        items = "".join(f"<li><b>{self.letters[o.id]}.</b> {render_text(o.text)}</li>" for o in self.order)
        self.options = _html(
            f'<ul style="list-style: none; padding-left: 0.5em">{items}</ul>', "lab-quiz-options"
        )
        self._boxes: dict[str, widgets.Checkbox] = {}
        self.choices: widgets.RadioButtons | widgets.HBox
        if question.type == "single":
            self.choices = widgets.RadioButtons(
                options=[(self.letters[o.id], o.id) for o in self.order], value=None, orientation="horizontal"
            )
        else:
            self._boxes = {
                o.id: widgets.Checkbox(
                    value=False,
                    description=self.letters[o.id],
                    indent=False,
                    layout=widgets.Layout(width="auto", margin="0 1.5em 0 0"),
                )
                for o in self.order
            }
            self.choices = widgets.HBox(list(self._boxes.values()))
        self.choices.add_class("lab-quiz-choices")
        self.check = _button("Check", "lab-quiz-check", "primary")
        self.retry = _button("Retry", "lab-quiz-retry")
        self.show_answer = _button("Show answer", "lab-quiz-show-answer")
        self.feedback = _html("", "lab-quiz-feedback")
        self.explanation = _html("", "lab-quiz-explain")
        self.check.on_click(self._check_clicked)
        self.retry.on_click(self._retry_clicked)
        self.show_answer.on_click(self._show_clicked)
        buttons = widgets.HBox([self.check, self.retry, self.show_answer])
        buttons.add_class("lab-quiz-buttons")
        super().__init__([self.prompt, self.options, self.choices, buttons, self.feedback, self.explanation])
        self.add_class("lab-quiz-question")
        self.state: State = "open"
        self._restore()

    def __repr__(self) -> str:
        return f"QuestionWidget({self.question.id!r}, state={self.state!r})"

    @property
    def selection(self) -> str | list[str] | None:
        """Return the chosen option id (single choice; None if none) or ids (multiple choice)."""
        if isinstance(self.choices, widgets.RadioButtons):
            return self.choices.value
        return [oid for oid, box in self._boxes.items() if box.value]

    def select(self, answer: Answer) -> None:
        """Set the choices to an answer (option id or ids; None clears), as a learner would click them."""
        ids = [] if answer is None else [answer] if isinstance(answer, str) else list(answer)
        for oid in ids:
            self.question.option(oid)
        if isinstance(self.choices, widgets.RadioButtons):
            self.choices.value = ids[0] if ids else None
        else:
            for oid, box in self._boxes.items():
                box.value = oid in ids

    def _check_clicked(self, _button: widgets.Button | None = None) -> None:
        try:
            result = self.session.submit(self.question.id, self.selection)
        except LabError as err:  # cannot happen through the UI; never let a click raise into the kernel
            log.warning("quiz %s: %s", self.question.id, err)
            self.feedback.value = f"{_NO} {html.escape(str(err))}"
            return
        if not result.answered:
            self.feedback.value = f"<b>{html.escape(result.message)}</b>"
            return
        self.feedback.value = self._verdict(result)
        self._set_state("solved" if result.correct else "wrong")
        self._changed()

    def _retry_clicked(self, _button: widgets.Button | None = None) -> None:
        self.select(None)
        self.feedback.value = ""
        self._set_state("open")

    def _show_clicked(self, _button: widgets.Button | None = None) -> None:
        self.session.reveal(self.question.id)
        self._show_answer("The answer")
        self._changed()

    def _show_answer(self, lead: str) -> None:
        correct = [o for o in self.order if o.id in self.question.answer]
        self.select([o.id for o in correct])
        self.feedback.value = (
            f"<b>{lead}: {', '.join(self.letters[o.id] for o in correct)}.</b>"
            + self._items((o.id, o.feedback) for o in correct)
        )
        self._set_state("revealed")

    def _verdict(self, result: Result) -> str:
        mark = _OK if result.correct else _NO
        tail = "" if result.correct else " Change your choice and check again, or show the answer."
        return f"{mark} <b>{html.escape(result.message)}</b>{tail}" + self._items(result.feedback)

    def _items(self, pairs: Iterable[tuple[str, str]]) -> str:
        items = "".join(
            f"<li><b>{self.letters[oid]}.</b> {render_text(text)}</li>" for oid, text in pairs if text
        )
        return f"<ul>{items}</ul>" if items else ""

    def _set_state(self, state: State) -> None:
        self.remove_class(f"lab-quiz-state-{self.state}")
        self.state = state
        self.add_class(f"lab-quiz-state-{state}")
        locked = state in ("solved", "revealed")
        controls = list(self._boxes.values()) if self._boxes else [self.choices]
        for control in controls:
            control.disabled = locked
        self.check.disabled = locked
        self.retry.disabled = state == "open"
        self.show_answer.disabled = locked or self.session.record(self.question.id).wrong == 0
        self.explanation.value = f"<b>Why:</b> {render_text(self.question.explain)}" if locked else ""

    def _restore(self) -> None:
        record = self.session.record(self.question.id)
        if record.solved:
            self.select(self.question.answer)
            self.feedback.value = f"{_OK} <b>Answered correctly earlier.</b> Retry to answer again."
            self._set_state("solved")
        elif record.revealed:
            self._show_answer("Shown earlier; the answer")
        else:
            self._set_state("open")

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()


class QuizWidget(widgets.VBox):
    """A notebook's whole quiz: a title, one QuestionWidget per question and a running score.

    Args:
        session: The model (bank, records, progress store).
        seed: Seeds the option shuffle of questions that shuffle; None keeps bank order.
    """

    def __init__(self, session: QuizSession, seed: str | int | None = None) -> None:
        self.session = session
        bank: Bank = session.bank
        self.heading = _html(f"<h3>{render_text(bank.title or 'Check yourself')}</h3>", "lab-quiz-title")
        self.questions: dict[str, QuestionWidget] = {
            q.id: QuestionWidget(session, q, number=i, seed=seed, on_change=self.refresh)
            for i, q in enumerate(bank.questions, start=1)
        }
        self.score = _html("", "lab-quiz-score")
        super().__init__([self.heading, *self.questions.values(), self.score])
        self.add_class("lab-quiz")
        self.refresh()

    def __repr__(self) -> str:
        return f"QuizWidget({self.session.bank.notebook!r}, questions={len(self.questions)})"

    def question(self, question_id: str) -> QuestionWidget:
        """Return the widget of a question; raise InputError naming the bank for an unknown id."""
        self.session.question(question_id)
        return self.questions[question_id]

    def refresh(self) -> None:
        """Redraw the running score."""
        s = self.session
        self.score.value = f"<b>Score: {s.score} / {s.total}</b> ({s.answered} of {s.total} answered)"


def _html(value: str, css_class: str) -> widgets.HTML:
    w = widgets.HTML(value=value)
    w.add_class(css_class)
    return w


def _button(label: str, css_class: str, style: str = "") -> widgets.Button:
    b = widgets.Button(description=label, button_style=style)
    b.add_class(css_class)
    return b
