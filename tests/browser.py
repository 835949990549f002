"""Real-browser fixtures: Debian's Chromium driven by Playwright (never `playwright install`).

Without Chromium the browser tests skip with the reason; under CI (CI=true) a missing browser
fails them instead, so CI can never pass without having run them.
"""

import os
import shutil

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


def _missing_browser(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run the browser tests (.ci/run installs chromium).")
    pytest.skip(reason)


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
def page_factory(chromium):
    """Open pages in a fresh context (own cookies) of the given width; collect console errors
    (including Content-Security-Policy violations) in `page.console_errors`."""
    contexts = []

    def open_page(width: int = 1280, height: int = 900):
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="id-ID")
        contexts.append(context)
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
        context.close()


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
