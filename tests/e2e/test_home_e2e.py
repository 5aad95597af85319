"""The home page in a real browser: it renders client-side, shows the registries, and raises nothing."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 30_000


def save_full_screenshot(page: Page, path: Path) -> None:
    """Screenshot of the whole page: Streamlit scrolls an inner container, so grow the viewport to it."""
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": max(int(height), 600)})
    page.wait_for_timeout(500)  # let the layout settle at the new size
    page.screenshot(path=str(path), full_page=True)


def test_home_renders_in_chromium(app_url: str, page: Page, screenshots: Path) -> None:
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Netarium")).to_be_visible(timeout=TIMEOUT_MS)
    playground = page.locator('[data-testid="stTable"] td').get_by_text("playground", exact=True)
    expect(playground.first).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text("netarium run playground --check")).to_be_visible(timeout=TIMEOUT_MS)

    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Traceback").count() == 0
    assert page.title() == "Netarium"

    page.get_by_role("heading", name="Headless").scroll_into_view_if_needed()
    save_full_screenshot(page, screenshots / "home.png")
    assert (screenshots / "home.png").stat().st_size > 10_000
