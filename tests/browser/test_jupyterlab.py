"""The lab as a learner meets it: JupyterLab in Chromium, a lesson run, a quiz answered by clicking."""

from __future__ import annotations

import os
import re

import pytest
from labserver import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    jupyterlab,
    run_all_cells,
    wait_all_executed,
    widget_problems,
)

from labsetup.quiz import load_bank

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"
NOTEBOOK = "00-setup"
QUESTION = "pod-without-node"

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"{CHROMIUM} is missing in CI: .ci/run must install Debian's chromium")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_and_run(browser, server):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server.lab_url(f"{NOTEBOOK}.ipynb"))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_selector(
        ".jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-DebuggerBugButton",
        timeout=60_000,
        state="attached",
    )
    run_all_cells(page)
    wait_all_executed(page, 180_000)
    return page


def letters(question) -> dict[str, str]:  # noqa: ANN001
    """Map option text (as rendered) to its letter, from the rendered lettered list."""
    found = {}
    for item in question.locator(".lab-quiz-options li").all():
        text = item.inner_text()
        match = re.match(r"\s*([A-Z])\.\s*(.*)", text, re.S)
        if match:
            found[" ".join(match.group(2).split())] = match.group(1)
    return found


def test_a_learner_runs_a_lesson_and_answers_its_quiz(browser, tmp_path):
    bank = load_bank(NOTEBOOK)
    q = next(x for x in bank.questions if x.id == QUESTION)
    right = next(o for o in q.options if o.id in q.answer)
    wrong = next(o for o in q.options if o.id not in q.answer)
    with jupyterlab(tmp_path, learner=f"browser-{os.getpid()}") as server:
        page = open_and_run(browser, server)
        try:
            assert widget_problems(page, 30_000) == []
            assert not page.get_by_text("Jupyter news").count(), "a news pop-up greeted the learner"
            question = page.locator(".lab-quiz-question").filter(has_text=q.prompt.split("?")[0][:40])
            by_text = letters(question)

            def choose(option):  # noqa: ANN001, ANN202
                letter = next(
                    v for k, v in by_text.items() if k.startswith(" ".join(option.text.split())[:30])
                )
                question.locator(".lab-quiz-choices label").filter(
                    has_text=re.compile(rf"^\s*{letter}\s*$")
                ).click()
                question.locator(".lab-quiz-check").click()

            choose(wrong)
            feedback = question.locator(".lab-quiz-feedback")
            page.wait_for_function(
                "el => el.innerText.includes('show the answer')", arg=feedback.element_handle()
            )
            assert " ".join(wrong.feedback.split())[:30] in " ".join(feedback.inner_text().split())
            question.locator(".lab-quiz-retry").click()
            choose(right)
            page.wait_for_function(
                "el => el.classList.contains('lab-quiz-state-solved')", arg=question.element_handle()
            )
            assert "Why:" in question.locator(".lab-quiz-explain").inner_text()
            score = page.locator(".lab-quiz-score").inner_text()
            # a retry after a wrong answer still earns the point; only "Show answer" forfeits it
            assert re.search(r"Score: 1 / \d+ \(1 of \d+ answered\)", score), score
            assert widget_problems(page) == []
            files = page.locator(".jp-DirListing-itemName").all_inner_texts()
            assert any(f.startswith("00-setup") for f in files) and any(f.startswith("05-") for f in files)
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"browser-{NOTEBOOK}.png"), full_page=True)


def test_the_check_detects_a_missing_widgets_extension(browser, tmp_path):
    with jupyterlab(tmp_path, widgets=False, learner=f"browser-broken-{os.getpid()}") as server:
        page = open_and_run(browser, server)
        problems = widget_problems(page, 10_000)  # the same detector the main test relies on
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"browser-{NOTEBOOK}-no-widgets.png"), full_page=True)
        assert "the quiz widget did not render" in problems
