"""Headless Chromium for the tests that open pages (the report, an e-mail's HTML), and axe-core run inside it.

Debian's `chromium` and `chromium-driver` (which `.ci/run` installs) drive the browser through Selenium; without
them the calling test skips and says why. axe-core comes from the test extras (`axe-playwright-python` carries
`axe.min.js`; only that file is used, never Playwright).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")

# WCAG 2.2 AA and below, as public bodies in the UK are held to, plus axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@contextmanager
def chromium(profile: Path, width: int, height: int) -> Iterator[Any]:
    """Yield a headless Chromium driver with a window of width x height CSS pixels; skip if it is missing."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(
            f"headless Chromium is not installed ({CHROMIUM}, {CHROMEDRIVER}: apt-get install chromium chromium-driver)"
        )
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install '.[test]')")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    # The driver is given by path, so Selenium Manager never looks for one online.
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        # --window-size sets the outer window; make the page's own viewport the size asked for.
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        )
        yield driver
    finally:
        driver.quit()


def axe_script() -> str:
    """Return axe-core's source, from the test extras."""
    spec = importlib.util.find_spec("axe_playwright_python")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("axe-core is not installed (pip install '.[test]')")
    return (Path(next(iter(spec.submodule_search_locations))) / "axe.min.js").read_text(encoding="utf-8")


def axe_violations(driver: Any) -> list[str]:
    """Return axe-core's violations on the open page, one line each: rule, impact, and the first element."""
    driver.execute_script(axe_script())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done(r.violations.map(v => [v.id, v.impact, v.help, v.nodes.map(n => n.target.join(' '))])))"
        ".catch(e => done([['axe-error', 'critical', String(e), []]]));",
        AXE_TAGS,
    )
    return [f"{rule} ({impact}): {text}; e.g. {nodes[:3]}" for rule, impact, text, nodes in result]


def horizontal_overflow(driver: Any) -> int:
    """Return how many CSS pixels the page is wider than its viewport (0: no horizontal scroll)."""
    return int(driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth;"))
