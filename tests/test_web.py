"""The planner's page end to end: the real app on the curated build, driven in Debian's headless Chromium."""

from __future__ import annotations

import csv
import socket
import threading
import time
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium's own connections are refused on a closed network.
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CSV_COLUMNS = ["rank", "geonameid", "name", "admin1", "country", "population", "score", "reasons"]
PORTLAND_OREGON = 5746545

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: `make test` installs it")]


@pytest.fixture(scope="module")
def base_url(engine):
    """The real app, on the session's curated engine, served by uvicorn in a background thread."""
    import uvicorn

    from api.deps import Service
    from api.main import create_app
    from api.settings import Settings

    app = create_app(Settings(api_keys=[]), service=Service.of(engine))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def page(base_url):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.goto(base_url)
        yield page
        browser.close()
        assert not errors, f"the page logged errors: {errors}"


def load_suggestions(page, action, wanted: str = "") -> None:
    """Do what asks for suggestions, wait for their response (its URL containing `wanted`) and their rendering."""
    with page.expect_response(lambda response: "/recommendations?" in response.url and wanted in response.url):
        action()
    page.wait_for_selector("#suggestions[aria-busy=false]")


def rows(page):
    return page.locator("[data-testid=result-row]")


def export(page) -> list[dict]:
    with page.expect_download() as info:
        page.click("#export-btn")
    download = info.value
    with open(download.path(), encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == CSV_COLUMNS
        return list(reader)


def search_and_pick(page) -> None:
    """Type a prefix, see namesakes told apart, and pick Portland, Oregon with the keyboard."""
    page.locator("#city-search").press_sequentially("Portl", delay=30)
    options = page.locator("[data-testid=city-option]")
    options.first.wait_for()
    texts = options.all_inner_texts()
    assert any(text.startswith("Portland, Maine, United States — ") for text in texts)
    oregon = next(i for i, text in enumerate(texts) if text.startswith("Portland, Oregon, United States — "))
    for _ in range(oregon):
        page.keyboard.press("ArrowDown")
    load_suggestions(page, lambda: page.keyboard.press("Enter"))
    assert page.inner_text("#query-name") == "Portland, Oregon, United States"


def check_suggestions(page) -> None:
    assert rows(page).count() == 10
    for i in range(10):
        assert rows(page).nth(i).locator("[data-testid=reasons] li").count() >= 1
    assert page.locator("[data-testid=map-dot]").count() == 10
    assert page.locator("[data-testid=map-query]").count() == 1


def filter_to_europe(page) -> None:
    page.check("#f-continents-EU")
    load_suggestions(page, lambda: page.click("#apply-filters"), "continents=EU")
    continents = [rows(page).nth(i).get_attribute("data-continent") for i in range(rows(page).count())]
    assert continents and set(continents) == {"EU"}
    assert "continents=EU" in page.url  # the address keeps the filters, for bookmarks


def compare_two(page) -> list[str]:
    ids = [rows(page).nth(i).get_attribute("data-geonameid") for i in (0, 2)]
    for gid in ids:
        page.check(f"#pick-{gid}")
    page.click("#compare-btn")
    table = page.locator("#compare-table")
    table.locator("tbody tr").first.wait_for()
    assert [table.locator("thead th").nth(i).get_attribute("data-geonameid") for i in (1, 2)] == ids
    for key in ("score", "distance_km", "shared_languages", "reasons"):
        assert table.locator(f"tr[data-key$={key}] td").count() == 2, key
    return ids


def test_search_suggest_filter_compare_export(page):
    search_and_pick(page)
    assert page.evaluate("[-0.004, 1.236, -0.5, null].map(formatScore)") == ["0.00", "1.24", "-0.50", "—"]
    check_suggestions(page)
    filter_to_europe(page)
    ids = compare_two(page)

    ticked = export(page)
    assert [row["geonameid"] for row in ticked] == ids
    assert [row["rank"] for row in ticked] == ["1", "3"]
    assert all(row["name"] and row["country"] and row["reasons"] for row in ticked)
    scores = [float(row["score"]) for row in ticked]
    assert scores == sorted(scores, reverse=True)

    for gid in ids:
        page.uncheck(f"#pick-{gid}")
    everything = export(page)
    assert [row["rank"] for row in everything] == [str(i) for i in range(1, rows(page).count() + 1)]
