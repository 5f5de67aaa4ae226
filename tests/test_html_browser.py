"""report.html in a real browser: Debian's chromium and chromedriver, headless, driven by selenium.

One browser serves the whole module. The page is rendered from a synthetic document whose logs and agent
output hold markup, so what the browser runs and shows is what a reader would get.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_html import HOSTILE, PROVENANCE, failing, missing_table_report, record, write_stream

from pytest_spider2dbt.categories import Category
from pytest_spider2dbt.report import html as report_html
from pytest_spider2dbt.report import store

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
INSTALL = "apt-get install chromium chromium-driver (as .ci/run does), and pip install selenium"
BROWSER_ARGUMENTS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1200,900")

webdriver = pytest.importorskip("selenium.webdriver", reason=f"selenium is not installed: {INSTALL}")
if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
    pytest.skip(f"no chromium and chromedriver at {CHROMIUM}, {CHROMEDRIVER}: {INSTALL}", allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="spider2-chromium-")
    for argument in (*BROWSER_ARGUMENTS, f"--user-data-dir={profile}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report.html with passing and failing instances of several categories, agent logs holding markup, and a
    conversation; written in a results folder of its own."""
    out = tmp_path_factory.mktemp("browser") / "results"
    logs = out / "logs"
    (logs / "v001").mkdir(parents=True)
    (logs / "v001" / "agent.stdout").write_text(f"dbt run\n{HOSTILE}\n")
    write_stream(logs / "v002" / "agent.jsonl", [
        {"type": "assistant", "message": {"id": "m1", "content": [{"type": "text", "text": HOSTILE}]}},
        {"type": "result", "subtype": "success", "result": "done", "num_turns": 1, "total_cost_usd": 0.5},
    ])
    records = [
        record("p001"), record("p002"), record("p003", agent_seconds=100.0),
        failing("v001", log_dir=logs / "v001", gold="Lemonade Stand", result="Lemonade stand", column_name="name"),
        failing("v002", log_dir=logs / "v002", agent_seconds=3.0),
        record("t001", Category.TABLE_MISSING, report=missing_table_report("t001", ["stg_orders"])),
        record("x001", Category.AGENT_TIMEOUT, timed_out=True, agent_seconds=1800.0),
    ]
    document = store.document(records, strict=False, provenance=PROVENANCE)
    (out / "summary.json").write_text(json.dumps(document))
    (out / "report.html").write_text(report_html.render_report(document))
    return out / "report.html"


@pytest.fixture
def page(browser: webdriver.Chrome, report: Path) -> webdriver.Chrome:
    browser.get("about:blank")
    browser.get_log("browser")
    browser.get_log("performance")
    browser.get(report.as_uri())
    return browser


def visible_ids(browser: webdriver.Chrome) -> list[str]:
    rows = browser.find_elements(By.CSS_SELECTOR, "#instance-table tbody tr")
    return [row.find_element(By.TAG_NAME, "td").text for row in rows if row.is_displayed()]


def test_it_loads_from_disk_without_a_request_to_the_network_or_a_console_error(page):
    requested = [
        json.loads(entry["message"])["message"]["params"]["request"]["url"]
        for entry in page.get_log("performance")
        if json.loads(entry["message"])["message"]["method"] == "Network.requestWillBeSent"
    ]
    assert requested and all(url.startswith(("file://", "data:")) for url in requested), requested
    assert page.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert [entry for entry in page.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")] == []
    assert page.find_element(By.ID, "filter-count").text == "7 of 7 shown"


def test_filtering_by_a_category_shows_exactly_its_rows_and_sections(page):
    Select(page.find_element(By.ID, "filter-category")).select_by_value("value_mismatch")
    assert visible_ids(page) == ["v001", "v002"]
    sections = [s.get_attribute("id") for s in page.find_elements(By.CSS_SELECTOR, "section.instance")
                if s.is_displayed()]
    assert sections == ["i-v001", "i-v002"]
    page.find_element(By.ID, "filter-text").send_keys("V002")
    assert visible_ids(page) == ["v002"]


def test_a_category_bar_links_to_its_instances(page):
    page.find_element(By.CSS_SELECTOR, 'table.bars a[data-category="passed"]').click()
    assert visible_ids(page) == ["p001", "p002", "p003"]
    assert page.find_element(By.ID, "filter-count").text == "3 of 7 shown"


def test_sorting_by_agent_seconds_is_numeric(page):
    page.find_element(By.XPATH, "//th[button='agent s']/button").click()
    assert visible_ids(page)[-2:] == ["p003", "x001"]
    page.find_element(By.XPATH, "//th[button='agent s']/button").click()
    assert visible_ids(page)[0] == "x001"


def test_the_differing_value_of_a_value_mismatch_is_highlighted(page):
    section = page.find_element(By.ID, "i-v001")
    result_cell = section.find_element(By.CSS_SELECTOR, "table.samples td.differs")
    assert result_cell.text == "Lemonade stand"
    mark = result_cell.find_element(By.TAG_NAME, "mark")
    assert mark.text == "s"
    assert mark.value_of_css_property("background-color") not in ("rgba(0, 0, 0, 0)", "transparent")
    assert result_cell.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"


def test_agent_output_holding_a_script_is_shown_as_text_and_never_run(page):
    assert page.execute_script("return window.pwned") is None
    tail = page.find_element(By.CSS_SELECTOR, "#i-v001 .tails pre")
    assert "<script>window.pwned = 1</script>" in tail.text
    conversation = page.find_element(By.CSS_SELECTOR, "#i-v002 details.conversation")
    assert conversation.get_attribute("open") is None
    conversation.find_element(By.TAG_NAME, "summary").click()
    assert "<script>window.pwned = 1</script>" in conversation.find_element(By.CSS_SELECTOR, ".text").text
    assert page.execute_script("return window.pwned") is None
    assert page.find_elements(By.CSS_SELECTOR, "img") == []
