"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live
server, on a transactional database, with Celery tasks inline. Users, the book and
records come from tests/conftest.py.

Playwright's sync API runs an event loop in the test's thread; Django would take the
ORM calls of the test (fixtures, checks) for calls from async code, so they are
allowed explicitly here.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connections

from tests.helpers import PASSWORD

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _migrations_rows(browser, _serialized_contents, transactional_db):
    """The rows the migrations made (roles, statuses, the setup row), in place before the
    test's own fixtures run. With Playwright's event loop running in this thread, the
    restore of a transactional test with serialized_rollback does not take: the first
    browser test after another transactional test would start on empty tables."""
    if not Group.objects.exists():
        connections["default"].creation.deserialize_db_from_string(_serialized_contents["default"])


# Every document reports the Content-Security-Policy violations it meets (an init
# script is the browser's own, so the policy does not block it).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
    `(${event.sourceFile || document.location.href}:${event.lineNumber})`
  );
});
"""


# Blocked on purpose, not a fault: Redoc's "API docs by Redocly" logo is an image on
# Redocly's CDN; the docs load nothing from other sites.
BLOCKED_ON_PURPOSE = ("https://cdn.redoc.ly/",)


def _violation(violations: list[str], text: str) -> None:
    if not any(url in text for url in BLOCKED_ON_PURPOSE):
        violations.append(text)


@pytest.fixture
def page(browser, live_server, settings, tmp_path):
    """A page of a fresh browser context. Every page any browser test opens must load
    with zero Content-Security-Policy violations: they are collected in
    `page.csp_violations` (the events and the console's reports) and checked at the end."""
    settings.MEDIA_ROOT = tmp_path / "media"
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(10_000)
    violations: list[str] = []
    context.expose_function("__reportCspViolation", lambda text: _violation(violations, text))
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    page.on(
        "console",
        lambda message: (
            _violation(violations, message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.csp_violations = violations
    yield page
    context.close()
    assert violations == [], "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def shot(page):
    """Save a full-page screenshot for a reviewer: test-output/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def signed_in(page, finance):
    """Sign in through the login form, as Finance."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(finance.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    return page
