"""The quiz widget, driven like a learner would: set choices, click(), read widget state."""

from __future__ import annotations

import json
import logging
import textwrap
from collections.abc import Iterator
from pathlib import Path

import ipywidgets as widgets
import pytest

from labsetup.errors import InputError
from labsetup.quiz import show_quiz
from labsetup.quiz.bank import NOTEBOOK_STEMS, parse_bank
from labsetup.quiz.session import QuizSession
from labsetup.quiz.store import ProgressStore
from labsetup.quiz.widget import QuestionWidget, QuizWidget, render_text

BANK = textwrap.dedent(
    """\
    notebook: 03-projected-tokens
    title: Tiny quiz
    questions:
      - id: one
        type: single
        prompt: Pick `alpha`.
        options:
          - {id: a, text: Alpha, feedback: Yes.}
          - {id: b, text: Beta, feedback: Beta is the decoy.}
          - {id: c, text: Gamma}
        answer: a
        explain: Alpha is **the** answer.
      - id: many
        type: multiple
        prompt: Pick alpha and gamma.
        options:
          - {id: a, text: Alpha}
          - {id: b, text: Beta, feedback: Not beta.}
          - {id: c, text: Gamma}
        answer: [a, c]
        explain: Alpha and Gamma.
    """
)


@pytest.fixture(autouse=True)
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SA_LAB_DIR", str(tmp_path / "lab"))
    monkeypatch.setenv("SA_LAB_LEARNER", "alice")
    yield tmp_path / "lab"


@pytest.fixture
def store(tmp_path: Path) -> ProgressStore:
    return ProgressStore(tmp_path / "progress" / "alice.json", "alice")


@pytest.fixture
def quiz(store: ProgressStore) -> QuizWidget:
    return QuizWidget(QuizSession(parse_bank(BANK, source="tiny.yaml"), store), seed="alice")


def _tree(w: widgets.Widget) -> Iterator[widgets.Widget]:
    yield w
    for child in getattr(w, "children", ()):
        yield from _tree(child)


def test_wrong_then_right_updates_feedback_explanation_and_score(quiz: QuizWidget) -> None:
    q = quiz.question("one")
    q.select("b")
    q.check.click()
    assert "Not quite." in q.feedback.value
    assert "Beta is the decoy." in q.feedback.value
    assert q.explanation.value == "", "the explanation would give the answer away after a wrong try"
    assert q.state == "wrong"
    assert not q.show_answer.disabled, "show answer becomes available after a wrong try"
    assert "Score: 0 / 2" in quiz.score.value

    q.select("a")
    q.check.click()
    assert "Correct." in q.feedback.value
    assert "Alpha is <b>the</b> answer." in q.explanation.value
    assert q.state == "solved"
    assert q.choices.disabled and q.check.disabled and q.show_answer.disabled
    assert "Score: 1 / 2" in quiz.score.value
    assert "lab-quiz-state-solved" in q._dom_classes


def test_no_selection_asks_for_an_answer_and_keeps_the_score(quiz: QuizWidget) -> None:
    for qid in ("one", "many"):
        q = quiz.question(qid)
        q.check.click()
        assert "Choose an answer first." in q.feedback.value
        assert q.state == "open"
        assert q.show_answer.disabled
        assert quiz.session.record(qid).attempts == 0
    assert "Score: 0 / 2" in quiz.score.value
    assert "(0 of 2 answered)" in quiz.score.value


def test_retry_clears_the_question_but_keeps_the_score(quiz: QuizWidget) -> None:
    q = quiz.question("one")
    assert q.retry.disabled
    q.select("a")
    q.check.click()
    q.retry.click()
    assert q.selection is None
    assert q.feedback.value == "" and q.explanation.value == ""
    assert not q.choices.disabled and not q.check.disabled
    assert q.state == "open"
    assert "Score: 1 / 2" in quiz.score.value


def test_show_answer_selects_the_key_explains_and_earns_no_point(quiz: QuizWidget) -> None:
    q = quiz.question("many")
    q.select(["a"])
    q.check.click()
    assert "you found 1 of the 2 correct options" in q.feedback.value
    q.show_answer.click()
    assert q.state == "revealed"
    assert sorted(q.selection) == ["a", "c"]  # type: ignore[arg-type]
    assert "The answer:" in q.feedback.value
    assert "Alpha and Gamma." in q.explanation.value
    assert all(box.disabled for box in q.choices.children)
    q.retry.click()
    q.select(["a", "c"])
    q.check.click()
    assert "Correct." in q.feedback.value
    assert "Score: 0 / 2" in quiz.score.value, "a revealed answer earns no point"


def test_multiple_choice_uses_checkboxes_and_single_uses_radio_buttons(quiz: QuizWidget) -> None:
    assert isinstance(quiz.question("one").choices, widgets.RadioButtons)
    many = quiz.question("many").choices
    assert all(isinstance(c, widgets.Checkbox) for c in many.children)
    assert [c.description for c in many.children] == ["A", "B", "C"]


def test_option_texts_are_lettered_html(quiz: QuizWidget) -> None:
    q = quiz.question("one")
    assert "<b>A.</b> Alpha" in q.options.value
    assert "<code>alpha</code>" in q.prompt.value
    assert q.choices.options == (("A", "a"), ("B", "b"), ("C", "c"))


def test_css_classes_for_browser_tests(quiz: QuizWidget) -> None:
    classes = {c for w in _tree(quiz) for c in w._dom_classes}
    assert "lab-quiz" in quiz._dom_classes
    for css in (
        "lab-quiz-question",
        "lab-quiz-prompt",
        "lab-quiz-options",
        "lab-quiz-choices",
        "lab-quiz-check",
        "lab-quiz-retry",
        "lab-quiz-show-answer",
        "lab-quiz-feedback",
        "lab-quiz-explain",
        "lab-quiz-score",
        "lab-quiz-title",
    ):
        assert css in classes, css


def test_no_output_widget_and_nothing_printed_on_display(
    store: ProgressStore, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    quiz = QuizWidget(QuizSession(parse_bank(BANK, source="tiny.yaml"), store), seed="alice")
    bundle = quiz._repr_mimebundle_()
    quiz.question("one").check.click()  # even a click prints nothing
    out = capsys.readouterr()
    assert (out.out, out.err) == ("", "")
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]
    assert not any(isinstance(w, widgets.Output) for w in _tree(quiz))
    assert bundle["text/plain"] == "QuizWidget('03-projected-tokens', questions=2)"
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_clicks_are_saved_and_a_new_widget_restores_them(quiz: QuizWidget, store: ProgressStore) -> None:
    q = quiz.question("one")
    q.select("b")
    q.check.click()
    q.select("a")
    q.check.click()
    saved = json.loads(store.path.read_text())["notebooks"]["03-projected-tokens"]
    assert saved["total"] == 2
    assert saved["questions"]["one"]["attempts"] == 2 and saved["questions"]["one"]["solved"] is True

    again = QuizWidget(QuizSession(parse_bank(BANK, source="tiny.yaml"), store), seed="alice")
    restored = again.question("one")
    assert restored.state == "solved"
    assert restored.selection == "a"
    assert "Answered correctly earlier." in restored.feedback.value
    assert "Score: 1 / 2" in again.score.value


def test_revealed_answer_is_restored_as_revealed(quiz: QuizWidget, store: ProgressStore) -> None:
    q = quiz.question("many")
    q.select(["b"])
    q.check.click()
    q.show_answer.click()
    again = QuizWidget(QuizSession(parse_bank(BANK, source="tiny.yaml"), store))
    assert again.question("many").state == "revealed"
    assert "Alpha and Gamma." in again.question("many").explanation.value


def test_unknown_question_id_on_the_widget(quiz: QuizWidget) -> None:
    with pytest.raises(InputError, match="tiny.yaml: no question with id 'zzz'"):
        quiz.question("zzz")


def test_selecting_an_unknown_option_is_an_input_error(quiz: QuizWidget) -> None:
    with pytest.raises(InputError, match="has no option 'z'"):
        quiz.question("one").select("z")


def test_render_text_escapes_html() -> None:
    assert render_text("<script>x</script> `a<b` **c**") == (
        "&lt;script&gt;x&lt;/script&gt; <code>a&lt;b</code> <b>c</b>"
    )


@pytest.mark.parametrize("stem", NOTEBOOK_STEMS)
def test_show_quiz_for_every_notebook(stem: str, lab: Path) -> None:
    quiz = show_quiz(stem)
    assert isinstance(quiz, QuizWidget)
    assert "lab-quiz" in quiz._dom_classes
    assert all(isinstance(q, QuestionWidget) for q in quiz.questions.values())
    first = next(iter(quiz.questions.values()))
    first.select(
        sorted(first.question.answer) if first.question.type == "multiple" else min(first.question.answer)
    )
    first.check.click()
    assert "Correct." in first.feedback.value
    assert (lab / "progress" / "alice.json").exists(), "answers go to <lab dir>/progress/<learner>.json"


def test_show_quiz_without_saving_writes_nothing(lab: Path) -> None:
    quiz = show_quiz("00-setup", save=False)
    q = quiz.question("default-sa-creator")
    q.select("sa-controller")
    q.check.click()
    assert "Correct." in q.feedback.value
    assert not (lab / "progress").exists()


def test_show_quiz_unknown_notebook() -> None:
    with pytest.raises(InputError, match="unknown notebook '99-nope'"):
        show_quiz("99-nope")


def test_show_quiz_shuffles_per_learner_unless_told_not_to() -> None:
    def order(**kwargs: object) -> list[str]:
        quiz = show_quiz("03-projected-tokens", save=False, **kwargs)  # type: ignore[arg-type]
        return [o.id for o in quiz.question("projected-advantages").order]

    assert order(shuffle=False) == [
        "time-limited",
        "audience-bound",
        "pod-bound",
        "encrypted",
        "capped-48h",
        "stored-secret",
    ]
    assert len({tuple(order(learner=name)) for name in ("alice", "bob", "carol", "dave")}) > 1, (
        "differ per learner"
    )
    assert order(learner="alice") == order(learner="alice"), "stable for one learner"
    assert order(learner="alice") == order(learner="bob", seed="alice"), "the seed decides the order"
