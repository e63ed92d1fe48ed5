"""The grading model and the session: pure functions and score bookkeeping, no widgets."""

from __future__ import annotations

import textwrap

import pytest

from labsetup.errors import InputError
from labsetup.quiz.bank import Bank, parse_bank
from labsetup.quiz.grading import NO_ANSWER, grade, option_order
from labsetup.quiz.session import QuizSession

BANK = textwrap.dedent(
    """\
    notebook: 02-disabling-automount
    questions:
      - id: single
        type: single
        prompt: Which one?
        options:
          - {id: a, text: Alpha, feedback: Alpha it is.}
          - {id: b, text: Beta, feedback: Beta is the trap.}
          - {id: c, text: Gamma}
        answer: a
        explain: Alpha.
      - id: multi
        type: multiple
        shuffle: true
        prompt: Which ones?
        options:
          - {id: a, text: Alpha}
          - {id: b, text: Beta, feedback: Beta is wrong here.}
          - {id: c, text: Gamma}
          - {id: d, text: Delta}
          - {id: e, text: Epsilon}
          - {id: f, text: Zeta}
        answer: [a, c, d]
        explain: Alpha, Gamma and Delta.
    """
)


@pytest.fixture
def bank() -> Bank:
    return parse_bank(BANK, source="grading.yaml")


@pytest.mark.parametrize(
    ("answer", "correct", "message"),
    [("a", True, "Correct."), ("b", False, "Not quite."), ("c", False, "Not quite.")],
    ids=["right", "wrong-with-feedback", "wrong-without-feedback"],
)
def test_single_choice(bank: Bank, answer: str, correct: bool, message: str) -> None:
    result = grade(bank.question("single"), answer)
    assert result.answered
    assert result.correct is correct
    assert result.message == message
    assert result.selected == (answer,)


def test_single_choice_returns_the_chosen_options_feedback(bank: Bank) -> None:
    assert grade(bank.question("single"), "b").feedback == (("b", "Beta is the trap."),)
    assert grade(bank.question("single"), "c").feedback == ()


@pytest.mark.parametrize(
    ("answer", "correct", "missed", "wrong", "message"),
    [
        (["d", "a", "c"], True, (), (), "Correct."),
        (["a", "c"], False, ("d",), (), "Not quite: you found 2 of the 3 correct options."),
        (
            ["a", "c", "d", "b"],
            False,
            (),
            ("b",),
            "Not quite: you found 3 of the 3 correct options and 1 of your",
        ),
        (
            ["b", "e"],
            False,
            ("a", "c", "d"),
            ("b", "e"),
            "you found 0 of the 3 correct options and 2 of your choices",
        ),
        ("a", False, ("c", "d"), (), "you found 1 of the 3"),
    ],
    ids=["exact-any-order", "one-missing", "one-extra", "all-wrong", "string-for-multiple"],
)
def test_multiple_choice(
    bank: Bank,
    answer: list[str],
    correct: bool,
    missed: tuple[str, ...],
    wrong: tuple[str, ...],
    message: str,
) -> None:
    result = grade(bank.question("multi"), answer)
    assert result.correct is correct
    assert result.missed == missed
    assert result.wrong == wrong
    assert message in result.message


@pytest.mark.parametrize(
    "nothing", [None, "", [], ()], ids=["none", "empty-string", "empty-list", "empty-tuple"]
)
def test_no_selection_is_not_an_answer(bank: Bank, nothing: object) -> None:
    for qid in ("single", "multi"):
        result = grade(bank.question(qid), nothing)  # type: ignore[arg-type]
        assert not result.answered
        assert not result.correct
        assert result.message == NO_ANSWER == "Choose an answer first."


def test_unknown_option_is_an_input_error(bank: Bank) -> None:
    with pytest.raises(InputError, match="question 'single' has no option 'z'; its options are: a, b, c"):
        grade(bank.question("single"), "z")
    with pytest.raises(InputError, match="has no option 'z'"):
        grade(bank.question("multi"), ["a", "z"])


def test_single_choice_rejects_two_answers(bank: Bank) -> None:
    with pytest.raises(InputError, match="takes one answer, got 2"):
        grade(bank.question("single"), ["a", "b"])


def test_option_order_is_shuffled_deterministically_per_seed(bank: Bank) -> None:
    q = bank.question("multi")
    orders = {
        tuple(o.id for o in option_order(q, seed)) for seed in ("alice", "bob", "carol", "dave", "erin")
    }
    assert len(orders) > 1, "different learners should see different orders"
    assert option_order(q, "alice") == option_order(q, "alice")
    assert sorted(o.id for o in option_order(q, "alice")) == ["a", "b", "c", "d", "e", "f"]
    assert option_order(q, None) == q.options


def test_option_order_keeps_bank_order_when_shuffle_is_off(bank: Bank) -> None:
    q = bank.question("single")
    assert not q.shuffle
    assert option_order(q, "alice") == q.options


# ---- session: the model behind the widget ---------------------------------------------------------------


def test_session_scores_only_correct_answers(bank: Bank) -> None:
    session = QuizSession(bank)
    assert (session.score, session.total, session.answered) == (0, 2, 0)
    session.submit("single", "b")
    assert (session.score, session.answered) == (0, 1)
    session.submit("single", "a")
    assert session.score == 1
    rec = session.record("single")
    assert (rec.attempts, rec.wrong, rec.solved, rec.first_try) == (2, 1, True, False)


def test_session_first_try_and_no_selection(bank: Bank) -> None:
    session = QuizSession(bank)
    assert not session.submit("multi", []).answered
    assert session.record("multi").attempts == 0, "an empty check is not a try"
    session.submit("multi", ["a", "c", "d"])
    assert session.record("multi").first_try
    assert session.score == 1


def test_session_revealed_answer_earns_no_point(bank: Bank) -> None:
    session = QuizSession(bank)
    session.submit("single", "c")
    session.reveal("single")
    session.submit("single", "a")
    rec = session.record("single")
    assert rec.solved and rec.revealed
    assert session.score == 0


def test_session_reveal_after_solving_keeps_the_point(bank: Bank) -> None:
    session = QuizSession(bank)
    session.submit("single", "a")
    session.reveal("single")
    assert not session.record("single").revealed
    assert session.score == 1


def test_session_unknown_question_id(bank: Bank) -> None:
    session = QuizSession(bank)
    with pytest.raises(
        InputError, match="grading.yaml: no question with id 'nope'; known ids: single, multi"
    ):
        session.submit("nope", "a")
    with pytest.raises(InputError, match="no question with id 'nope'"):
        session.reveal("nope")
