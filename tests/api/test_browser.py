"""The search page in a real headless Chromium, served by uvicorn over the fixture store.

Screenshots go to ``test-artifacts/screenshots/`` (not committed). Skipped when Debian's
``chromium`` or the ``playwright`` package is missing; the browser is the system one, never a
downloaded build.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import serving

from api.runtime import Runtime
from tests.chat_server import ChatServer
from tests.conftest import FIXTURES

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install playwright)")
expect = sync_api.expect

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
QUESTION = "What must the police do when a child reports sexual abuse?"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def base_url(runtime) -> Iterator[str]:
    with serving(runtime) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) to run browser tests")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, base_url):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    # A 404 for a missing provision is a state the page shows, not a fault; Chromium logs it anyway.
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.on("response", lambda r: problems.append(f"HTTP {r.status} for {r.url}") if r.status >= 500 else None)
    page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    page.on("request", lambda req: None if req.url.startswith(base_url) else problems.append(f"external request: {req.url}"))
    page.problems = problems
    yield page
    context.close()
    assert problems == [], problems


def _ask(page, base_url: str, question: str) -> None:
    page.goto(base_url + "/")
    page.get_by_label("Search the law or ask a question").fill(question)
    page.keyboard.press("Enter")
    page.locator("#results .card").first.wait_for()
    page.locator("#answer h2").wait_for()


def test_search_ask_open_provision_and_follow_cross_reference(page, base_url):
    page.goto(base_url + "/")
    # The act filter is filled from GET /acts.
    page.locator("#act option").nth(1).wait_for(state="attached")
    assert "POCSO Act, 2012 (7 sections)" in page.locator("#act").inner_text()
    page.screenshot(path=str(SHOTS / "00-home.png"), full_page=True)

    _ask(page, base_url, QUESTION)
    cards = page.locator("#results .card")
    assert cards.count() >= 3
    first_link = cards.first.locator("h3 a")
    assert re.match(r"^#/provisions/[^/]+/[^/?]+", first_link.get_attribute("href"))
    assert page.locator("#results mark").count() > 0, "query words are highlighted"
    assert page.locator("#answer .cited blockquote").count() > 0
    citation_hrefs = page.locator("#answer a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert citation_hrefs and all(h.startswith("#/provisions/") for h in citation_hrefs)
    page.screenshot(path=str(SHOTS / "01-ask-lawyer.png"), full_page=True)

    # Open POCSO s. 21 from a result card, then follow its cross-reference to s. 19.
    page.goto(base_url + "/#/search?" + "q=punishment+for+failing+to+report&mode=search&audience=lawyer")
    page.locator('#results a[href="#/provisions/pocso/21"]').first.click()
    page.locator("#provision-title").wait_for()
    assert page.locator("#provision-title").inner_text() == "POCSO Act, 2012, s. 21"
    assert page.locator("#provision .unit").count() == 2
    page.screenshot(path=str(SHOTS / "03-provision-pocso-21.png"), full_page=True)
    page.locator('#provision ul[aria-labelledby="refs-out"] a[href="#/provisions/pocso/19"]').click()
    expect(page.locator("#provision-title")).to_have_text("POCSO Act, 2012, s. 19")
    referred = page.locator('#provision ul[aria-labelledby="refs-in"]').inner_text()
    assert "POCSO Act, 2012, s. 21" in referred
    page.screenshot(path=str(SHOTS / "04-cross-reference-pocso-19.png"), full_page=True)
    # Back to the results list.
    page.get_by_role("link", name="← Back to results").click()
    page.locator("#results .card").first.wait_for()


def test_audience_switch_changes_the_answer_panel(page, base_url):
    _ask(page, base_url, QUESTION)
    assert page.locator("#answer ol.steps").count() == 0
    lawyer_summary = page.locator("#answer .summary").inner_text()
    page.get_by_label("Police officer").check()
    page.locator("#answer ol.steps li").first.wait_for()
    step_links = page.locator("#answer ol.steps li a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert step_links and all(h.startswith("#/provisions/") for h in step_links), "each step links its citation"
    assert page.locator("#answer .summary").inner_text() != lawyer_summary
    assert "police" in page.url
    page.screenshot(path=str(SHOTS / "02-ask-police-steps.png"), full_page=True)
    page.get_by_label("NGO worker").check()
    expect(page.locator("#answer ol.steps")).to_have_count(0)
    assert "In short" in page.locator("#answer .summary").inner_text()


def test_subsection_link_focuses_the_subsection(page, base_url):
    page.goto(base_url + "/#/provisions/pocso/19?focus=(4)")
    page.locator("#provision .unit.focus").wait_for()
    assert page.locator("#provision .unit.focus").get_attribute("data-path") == "(4)"
    # Clauses nest inside their sub-section; the deepest one asked for is focused.
    page.goto(base_url + "/#/provisions/pocso/2?focus=(1)(b)")
    expect(page.locator("#provision-title")).to_have_text("POCSO Act, 2012, s. 2")
    assert page.locator('#provision .unit[data-path="(1)"] > .unit').count() == 3
    assert page.locator("#provision .unit.focus").get_attribute("data-path") == "(1)(b)"
    assert "child pornography" in page.locator("#provision .unit.focus").inner_text()
    assert page.locator("#provision ul.footnotes li").count() == 1


def test_missing_provision_and_abstention_are_plain(page, base_url):
    page.goto(base_url + "/#/provisions/pocso/999")
    page.get_by_text("No provision found.", exact=True).first.wait_for()

    _ask(page, base_url, "best recipe for mango chutney with jaggery")
    assert page.locator("#answer h2").inner_text() == "No answer found"
    assert "no provision" in page.locator("#answer .summary").inner_text().lower()
    if page.locator("#answer .card").count():
        assert page.locator("#answer h3", has_text="Nearest matches (not an answer)").count() == 1
        assert page.locator("#answer .nearest-label").first.inner_text() == "Nearest match — not an answer"
    expect(page.locator("#results-title")).to_have_text("Closest provisions (they do not answer the question)")
    page.screenshot(path=str(SHOTS / "05-abstention.png"), full_page=True)


def test_no_results_message(page, base_url):
    page.goto(base_url + "/#/search?q=child&mode=search&act=it&type=sop")
    page.locator("#results .empty").wait_for()
    assert page.locator("#results .empty").inner_text() == "No provision found."


def test_phone_width_has_no_horizontal_scroll(browser, base_url):
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    _ask(page, base_url, QUESTION)
    page.screenshot(path=str(SHOTS / "06-phone-360.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"page is {width}px wide at a 360px viewport"
    page.goto(base_url + "/#/provisions/pocso/2")
    page.locator("#provision-title").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(SHOTS / "07-phone-provision.png"), full_page=True)
    context.close()


def test_keyboard_only_search(page, base_url):
    page.goto(base_url + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")  # the brand link in the header
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("special court")
    page.keyboard.press("Enter")
    page.locator("#results .card").first.wait_for()
    # The focus ring is visible on a focused citation link.
    link = page.locator("#results .card h3 a").first
    link.focus()
    outline = link.evaluate("a => getComputedStyle(a).outlineStyle")
    assert outline != "none"


def test_generated_sentences_link_the_provisions_they_rest_on(browser, runtime):
    """With the optional generator on (a recorded chat-completions reply served on loopback), the
    answer panel shows the kept sentences, each linking the stored provisions it cites."""
    chat = ChatServer.start(FIXTURES / "generator" / "chat_completion_reporting.json")
    answers = runtime.settings.answers.model_copy(update={
        "generator_enabled": True, "generator_url": chat.url, "generator_timeout_s": 5, "generator_max_retries": 0})
    settings = runtime.settings.model_copy(update={"answers": answers})
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    try:
        with serving(Runtime(settings=settings, store=runtime.store, encoder=runtime.encoder)) as url:
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url + "/#/search?q=" + QUESTION.replace(" ", "+") + "&mode=ask&audience=police")
            page.locator("#answer ul.generated li").first.wait_for()
            items = page.locator("#answer ul.generated li")
            assert items.count() >= 1
            for i in range(items.count()):
                hrefs = items.nth(i).locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
                assert hrefs and all(h.startswith("#/provisions/") for h in hrefs), items.nth(i).inner_text()
            assert "section 99" not in page.locator("#answer").inner_text().lower()
            page.screenshot(path=str(SHOTS / "08-generated-answer.png"), full_page=True)
    finally:
        context.close()
        chat.stop()
