"""Screenshots of the embedded demo's report.html: the noop agent (every instance fails) and the reference agent
(every instance passes), taken with headless Chromium at 1200 px wide.

Run from the project root with the project's virtualenv: `python docs/screenshot_report.py`. It needs Debian's
chromium and chromium-driver (as the browser tests do) and writes docs/images/report-noop.png and
docs/images/report-reference.png. Each demo run takes a few seconds; the results folders are temporary.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from selenium import webdriver

IMAGES = Path(__file__).resolve().parent / "images"
WIDTH = 1200
MAX_HEIGHT = 2400
AGENTS = ("noop", "reference")
BROWSER_ARGUMENTS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--hide-scrollbars")


def run_demo(agent: str, out: Path) -> Path:
    """The demo with `agent`, its results in `out`; returns the report it wrote."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--spider2-demo",
               f"--spider2-agent={agent}", f"--spider2-out={out}"]
    subprocess.run(command, cwd=out.parent, capture_output=True, check=False)
    report = out / "report.html"
    if not report.is_file():
        raise SystemExit(f"the demo run with {agent} wrote no {report}: {' '.join(command)}")
    return report


def browser(profile: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in (*BROWSER_ARGUMENTS, f"--user-data-dir={profile}"):
        options.add_argument(argument)
    service = webdriver.ChromeService(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(options=options, service=service)


def screenshot(driver: webdriver.Chrome, report: Path, target: Path) -> None:
    """The page from its top, as tall as its content (up to MAX_HEIGHT)."""
    metrics = {"width": WIDTH, "height": 600, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.get(report.as_uri())
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": min(height, MAX_HEIGHT)})
    driver.save_screenshot(str(target))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="spider2-screenshots-") as temporary:
        driver = browser(Path(temporary) / "profile")
        try:
            for agent in AGENTS:
                report = run_demo(agent, Path(temporary) / agent)
                target = IMAGES / f"report-{agent}.png"
                screenshot(driver, report, target)
                print(f"{target} ({target.stat().st_size // 1024} KB)")
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
