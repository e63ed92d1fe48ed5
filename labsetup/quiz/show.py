"""The one call a notebook makes: `show_quiz("03-projected-tokens")` returns the quiz widget."""

from __future__ import annotations

from pathlib import Path

from labsetup.paths import learner_name
from labsetup.quiz.bank import load_bank
from labsetup.quiz.session import QuizSession
from labsetup.quiz.store import ProgressStore
from labsetup.quiz.widget import QuizWidget


def show_quiz(
    notebook: str,
    *,
    learner: str | None = None,
    save: bool = True,
    seed: str | int | None = None,
    shuffle: bool = True,
    bank_directory: Path | None = None,
    progress_path: Path | None = None,
) -> QuizWidget:
    """Load a notebook's question bank and return its quiz widget, wired to the learner's progress.

    Make it the last expression of a cell (tagged `# NBVAL_IGNORE_OUTPUT`) so Jupyter displays it;
    nothing is printed.

    Args:
        notebook: The notebook stem, e.g. '03-projected-tokens'.
        learner: Whose progress to use; if unset, `labsetup.paths.learner_name()`.
        save: If false, answers are graded but neither loaded from nor saved to the progress file.
        seed: Seeds the option shuffle; if unset, the learner's name (a stable order per learner).
        shuffle: If false, options keep the bank's order even where the bank asks for shuffling.
        bank_directory: Where the banks are; if unset, notebooks/quizzes in the repository.
        progress_path: The progress file; if unset, `<lab dir>/progress/<learner>.json`.

    Raises:
        InputError: Unknown notebook, or its bank is missing or invalid (the message names file and field).
    """
    bank = load_bank(notebook, bank_directory)
    learner = learner or learner_name()
    store = ProgressStore(progress_path, learner) if save else None
    session = QuizSession(bank, store)
    if not shuffle:
        return QuizWidget(session, seed=None)
    return QuizWidget(session, seed=learner if seed is None else seed)
