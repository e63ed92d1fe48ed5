"""Fixtures for browser tests: Debian's Chromium through Playwright, and pages that record console errors.

Without /usr/bin/chromium the tests are skipped, except in CI (CI=true, as .ci/run sets) where a
missing browser is a failure: a browser test must never pass there by not running.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import labserver
import pytest
from playwright.sync_api import Browser, Page, sync_playwright


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = labserver.CHROMIUM
    if not path.exists():
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"{path} is missing in CI: .ci/run must install Debian's chromium package")
        pytest.skip(f"{path} is not installed (apt-get install chromium); the browser tests need it")
    with sync_playwright() as p:  # leaving the block stops the driver and any browser it still has
        chromium = p.chromium.launch(executable_path=str(path), args=labserver.CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh browser context (its own storage), closed afterwards."""
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """The page's console errors and uncaught exceptions, collected from now on."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    return errors
