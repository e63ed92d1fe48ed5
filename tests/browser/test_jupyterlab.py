"""The lab as a learner meets it: JupyterLab in Chromium, a lesson run, a quiz answered by clicking.

nbval runs the kernel, not the page; these tests look at what the browser shows. The second test
proves that the widget check of the first can fail: without the ipywidgets lab extension it fires.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from labserver import (
    ARTIFACTS,
    ROOT,
    WIDGETS_EXTENSION,
    Server,
    jupyterlab,
    listening_addresses,
    open_notebook,
    process_env,
    run_all_cells,
    save_artifacts,
    toasts,
    widget_problems,
)
from playwright.sync_api import Locator, Page

from labsetup.jupyter_settings import LEARNER_OVERRIDES, overrides_path
from labsetup.paths import lab_dir
from labsetup.quiz import load_bank
from labsetup.quiz.bank import Option
from labsetup.quiz.grading import option_order

pytestmark = pytest.mark.browser
NOTEBOOK = "00-setup"
QUESTION = "pod-without-node"
LEARNER = "browser-test"  # a learner of its own: its progress is reset, nobody else's


def _words(text: str) -> str:
    return " ".join(text.replace("`", "").replace("**", "").split())


def page_config(page: Page) -> dict:
    return json.loads(page.locator("#jupyter-config-data").text_content() or "{}")


def check_kernel(server: Server, kernel_name: str) -> None:
    """The notebook's kernel is the venv's python3, with the test session's SA_LAB_DIR, on 127.0.0.1."""
    specs = server.api("api/kernelspecs")
    assert specs["default"] == "python3"
    assert kernel_name == specs["kernelspecs"]["python3"]["spec"]["display_name"]
    (session,) = [s for s in server.api("api/sessions") if s["path"] == f"{NOTEBOOK}.ipynb"]
    assert session["kernel"]["name"] == "python3"
    kernels = {
        pid: argv
        for pid, argv in server.kernel_processes().items()
        if session["kernel"]["id"] in " ".join(argv)
    }
    assert len(kernels) == 1, kernels
    ((pid, argv),) = kernels.items()
    assert sys.prefix != sys.base_prefix, "the tests must run in the lab's virtualenv"
    assert Path(argv[0]) == Path(sys.executable), f"kernel runs {argv[0]}, not the venv's {sys.executable}"
    assert process_env(pid)["SA_LAB_DIR"] == os.environ["SA_LAB_DIR"]
    listening = listening_addresses([server.proc.pid, pid])
    assert listening and {addr for addr, _ in listening} == {"127.0.0.1"}, listening


def check_learner_settings(server: Server) -> None:
    """The venv's app-level overrides (as `make lab` uses them) are present and served by this server."""
    path = overrides_path()
    assert path.exists(), f"{path} is missing: run `python -m labsetup.jupyter_settings` (make setup does)"
    overrides = json.loads(path.read_text())
    for plugin, settings in LEARNER_OVERRIDES.items():
        assert overrides.get(plugin, {}).items() >= settings.items(), (plugin, overrides.get(plugin))
        schema = server.api(f"lab/api/settings/{plugin}")["schema"]["properties"]
        assert {k: schema[k]["default"] for k in settings} == settings, plugin


def letters(question: Locator) -> dict[str, str]:
    """Map option text (as rendered, in words) to its letter, from the question's lettered list."""
    found = {}
    for item in question.locator(".lab-quiz-options li").all_inner_texts():
        match = re.match(r"\s*([A-Z])\.\s*(.*)", item, re.S)
        assert match, item
        found[_words(match.group(2))] = match.group(1)
    return found


def test_a_learner_runs_a_lesson_and_answers_its_quiz(
    page: Page, console_errors: list[str], tmp_path: Path
) -> None:
    bank = load_bank(NOTEBOOK)
    q = next(x for x in bank.questions if x.id == QUESTION)
    right = next(o for o in q.options if o.id in q.answer)
    wrong = next(o for o in q.options if o.id not in q.answer)
    for old in (lab_dir() / "progress").glob(f"{LEARNER}.json*"):
        old.unlink()  # a fresh learner: nothing answered earlier
    with jupyterlab(tmp_path, learner=LEARNER) as server:
        try:
            kernel_name = open_notebook(page, server, f"{NOTEBOOK}.ipynb")
            config = page_config(page)
            assert WIDGETS_EXTENSION in {e["name"] for e in config["federated_extensions"]}
            assert WIDGETS_EXTENSION not in config.get("disabledExtensions", [])
            check_kernel(server, kernel_name)
            check_learner_settings(server)

            run_all_cells(page)
            assert widget_problems(page, 30_000) == []
            question = page.locator(".lab-quiz-question").filter(has_text=_words(q.prompt)[:40])
            question.scroll_into_view_if_needed()
            by_text = letters(question)
            # the lettered list is shuffled per learner, exactly as labsetup orders it for this learner
            expected = {_words(o.text): "ABCDEFGH"[i] for i, o in enumerate(option_order(q, LEARNER))}
            assert by_text == expected

            def choose(option: Option) -> None:
                letter = by_text[_words(option.text)]
                radio = question.locator(".lab-quiz-choices label").filter(
                    has_text=re.compile(rf"^\s*{letter}\s*$")
                )
                radio.click()
                question.locator(".lab-quiz-check").click()

            feedback = question.locator(".lab-quiz-feedback")
            choose(wrong)
            page.wait_for_function("el => el.innerText.includes('Not quite')", arg=feedback.element_handle())
            assert "lab-quiz-state-wrong" in (question.get_attribute("class") or "")
            text = _words(feedback.inner_text())
            assert "show the answer" in text and _words(wrong.feedback) in text, text
            ARTIFACTS.mkdir(exist_ok=True)
            question.screenshot(path=str(ARTIFACTS / f"browser-{NOTEBOOK}-wrong-answer.png"))
            n = len(bank.questions)
            assert page.locator(".lab-quiz-score").inner_text().startswith(f"Score: 0 / {n} ")

            question.locator(".lab-quiz-retry").click()
            choose(right)
            page.wait_for_function("el => el.innerText.includes('Correct.')", arg=feedback.element_handle())
            assert "lab-quiz-state-solved" in (question.get_attribute("class") or "")
            assert _words(right.feedback) in _words(feedback.inner_text())
            assert question.locator(".lab-quiz-explain").inner_text().startswith("Why:")
            # a retry after a wrong answer still earns the point; only "Show answer" forfeits it
            assert page.locator(".lab-quiz-score").inner_text() == f"Score: 1 / {n} (1 of {n} answered)"

            assert widget_problems(page, 1_000) == []
            assert toasts(page) == [], "a pop-up greeted the learner"
            assert not [e for e in console_errors if "widget" in e.lower()], console_errors
            assert page.locator(".jp-FileBrowser").is_visible()
            listed = set(page.locator(".jp-DirListing-itemName").all_inner_texts())
            lessons = {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
            assert len(lessons) > 1 and lessons <= listed, listed
            question.scroll_into_view_if_needed()
        finally:
            save_artifacts(page, server, f"browser-{NOTEBOOK}")


def test_the_check_detects_a_missing_widgets_extension(page: Page, tmp_path: Path) -> None:
    with jupyterlab(tmp_path, widgets=False, learner=LEARNER) as server:
        try:
            open_notebook(page, server, f"{NOTEBOOK}.ipynb")
            assert WIDGETS_EXTENSION in page_config(page).get("disabledExtensions", [])
            run_all_cells(page)
            problems = widget_problems(page, 10_000)  # the same detector the learner test relies on
            page.locator(".jp-Notebook .jp-CodeCell").last.scroll_into_view_if_needed()
        finally:
            save_artifacts(page, server, f"browser-{NOTEBOOK}-no-widgets")
    assert "the quiz widget did not render" in problems
    assert any("plain text" in p and "QuizWidget(" in p for p in problems), problems
