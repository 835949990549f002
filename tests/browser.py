"""Real-browser fixtures: Debian's Chromium driven by Playwright (never `playwright install`).

Without Chromium the browser tests skip with the reason; under CI (CI=true) a missing browser
fails them instead, so CI can never pass without having run them.

`assert_accessible(page)` runs axe-core (the npm package in tests/node_modules, installed from
tests/package-lock.json with `npm ci` when missing) on the page as it stands, and fails on any
serious or critical violation or when the page scrolls sideways.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]

# Playwright's sync API runs an event loop in this thread; the ORM calls that the tests make
# around it are synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# axe-core reaches the page from this folder, never from the network: Playwright answers the
# script's same-origin address from the file, so the page's Content-Security-Policy
# (script-src 'self', no inline script) stays as in production.
AXE_FOLDER = Path(__file__).parent
AXE_FILE = AXE_FOLDER / "node_modules" / "axe-core" / "axe.min.js"
AXE_URL = "/__browser-tests__/axe.min.js"
FAILING_IMPACTS = ("serious", "critical")


def _missing_browser(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run the browser tests (.ci/run installs chromium).")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def axe_file():
    """The axe-core script, installed with `npm ci` (tests/package-lock.json) when missing."""
    if not AXE_FILE.exists():
        npm = shutil.which("npm")
        if npm is None:
            _missing_browser("no npm to install axe-core for the accessibility checks (apt-get install npm)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=AXE_FOLDER, check=True, capture_output=True)
    return AXE_FILE


@pytest.fixture(scope="session")
def chromium():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _missing_browser(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is in requirements-dev.txt
        _missing_browser("Python Playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page_factory(chromium, axe_file, transactional_db):
    """Open pages in a fresh context (own cookies) of the given width; collect console errors
    (including Content-Security-Policy violations) in `page.console_errors`.

    It asks for the database so that it is torn down first: its pages go quiet and close
    before the test database is emptied. A request still in flight at that moment (a favicon, a
    script's fetch) held a lock on the session table, and emptying it failed in CI."""
    contexts = []

    def open_page(width: int = 1280, height: int = 900, javascript: bool = True):
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="id-ID", java_script_enabled=javascript)
        contexts.append(context)
        context.route(f"**{AXE_URL}", lambda route: route.fulfill(path=str(axe_file), content_type="text/javascript"))
        page = context.new_page()
        # Report every Content-Security-Policy violation as a console error, whatever the
        # browser would print by itself.
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', function (e) {"
            " console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI); });"
        )
        page.console_errors = []
        page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
        page.on("pageerror", lambda error: page.console_errors.append(str(error)))
        page.set_default_timeout(15000)
        return page

    yield open_page
    for context in contexts:
        for page in context.pages:
            try:
                page.wait_for_load_state("networkidle", timeout=5000)
            except Exception:  # noqa: BLE001, S110 - a page that never goes quiet is closed anyway
                pass
        context.close()


def _axe_report(page, violations) -> None:
    """With AXE_REPORT=<file>, add one JSON line per page checked: its address, width,
    language and the count of violations by impact (for the notes of a change)."""
    if not os.environ.get("AXE_REPORT"):
        return
    counts: dict[str, int] = {}
    for violation in violations:
        counts[violation["impact"]] = counts.get(violation["impact"], 0) + 1
    line = {
        "url": page.url.split("//", 1)[-1].split("/", 1)[-1],
        "width": page.viewport_size["width"],
        "lang": page.evaluate("document.documentElement.lang"),
        "violations": counts,
        "rules": sorted({v["id"] for v in violations}),
    }
    with open(os.environ["AXE_REPORT"], "a", encoding="utf-8") as report:
        report.write(json.dumps(line) + "\n")


WIDER_THAN_WINDOW = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .slice(-5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + [...e.classList].join('.'))"""


def assert_accessible(page) -> None:
    """Run axe-core on the page as it stands: no serious or critical violation, and the page
    does not scroll sideways (its width fits the window, as a 360 px phone needs)."""
    page.wait_for_load_state()
    page.add_script_tag(url=AXE_URL)
    # preload: false keeps axe from copying the style sheets into <style> elements, which the
    # page's CSP (style-src 'self') rightly refuses; only the rule on orientation lock needs them.
    violations = page.evaluate("axe.run(document, {resultTypes: ['violations'], preload: false}).then(r => r.violations)")
    _axe_report(page, violations)
    failing = [
        f"{v['id']} ({v['impact']}): {v['help']}; {[n['target'] for n in v['nodes'][:4]]}"
        for v in violations
        if v["impact"] in FAILING_IMPACTS
    ]
    assert failing == [], f"axe-core on {page.url} at {page.viewport_size['width']} px:\n" + "\n".join(failing)
    scroll_width, window_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= window_width, (
        f"{page.url} scrolls sideways at {window_width} px ({scroll_width} px wide): {page.evaluate(WIDER_THAN_WINDOW)}"
    )


def log_in(page, base_url: str, username: str, password: str = "asn-demo-2026"):
    page.goto(f"{base_url}/akun/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]:has-text('Masuk')")
    page.wait_for_load_state()


@pytest.fixture
def demo(transactional_db):
    """The demo organisation of `make demo`, in the live server's database.

    Transactional tests end by emptying every table, data migrations included, so the default
    framework and the admin group are put back first (the migration's own idempotent code)."""
    import importlib

    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes
    from django.core.management import call_command

    framework = importlib.import_module("assessments.migrations.0002_default_framework")
    for config in apps.get_app_configs():
        create_contenttypes(config, verbosity=0)
        create_permissions(config, verbosity=0)
    framework.create_framework(apps, None)
    framework.create_admin_group(apps, None)
    call_command("seed_demo", force=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
