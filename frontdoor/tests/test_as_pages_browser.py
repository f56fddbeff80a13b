"""The dev authorization server's pages in a real browser: Debian's Chromium, headless, through
Selenium and Debian's chromedriver (scripts/setup.d/50-chromium.sh installs both).

What a user sees is asserted, not only status codes: the text, the labels, where focus starts,
where a submit goes, the final redirect with the code, and the layout at a phone and a laptop
width. Every page is screenshotted at both widths into the test's tmp dir
(`<name>-phone.png`, `<name>-laptop.png`), which CI keeps.

One browser and one server for the module (starting Chromium is the slow part); each test starts
with no cookies, i.e. a browser that has never been here.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio.from_thread
import httpx2
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from fleet_core import bind_loopback, running_app
from fleet_frontdoor.authserver.testing import Clock, pkce_pair, sample_manifest, seeded, serve_auth_server

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DB = "http://127.0.0.1:8700/mcp/db"  # the sample manifest's db resource
PHONE = (390, 844)
LAPTOP = (1366, 768)

# What the browser measures on every page: the viewport it laid out at, how wide the document is,
# where the buttons are, which visible form fields have no label, and text below WCAG AA contrast.
FACTS_JS = """
const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
const lum = ([r, g, b]) => {
  const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
};
const background = (el) => {
  for (; el; el = el.parentElement) {
    const c = rgb(getComputedStyle(el).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
  }
  return [255, 255, 255];
};
const lowContrast = [];
for (const el of document.body.querySelectorAll('*')) {
  const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  if (!own || !el.getClientRects().length) continue;
  const style = getComputedStyle(el);
  const a = lum(rgb(style.color)), b = lum(background(el));
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
  const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
  const what = `${el.tagName} "${el.textContent.trim().slice(0, 40)}"`;
  if (ratio < needed) lowContrast.push(`${what} ${ratio.toFixed(2)}`);
}
const fields = [...document.querySelectorAll('input:not([type=hidden]), select, textarea')];
return {
  innerWidth: window.innerWidth,
  scrollWidth: document.documentElement.scrollWidth,
  buttons: [...document.querySelectorAll('button')].map((b) => {
    const r = b.getBoundingClientRect();
    return {text: b.textContent.trim(), left: r.left, right: r.right, width: r.width, height: r.height};
  }),
  unlabelled: fields.filter((f) => !f.labels || !f.labels.length).map((f) => f.outerHTML),
  lowContrast,
};
"""


@dataclass
class Site:
    issuer: str
    callback: str  # a loopback redirect URI of the sample `fleet-client` (any port, RFC 8252 §7.3)
    cimd_client_id: str  # a URL client_id (CIMD) with a long path, served by the callback app
    clock: Clock
    app: Starlette  # app.state.ctx: the server's state, for what a test can't do through the pages


def _callback_app(cimd_path: str) -> Starlette:
    """The application's side: the loopback redirect target, and a client metadata document."""

    async def callback(request: Request) -> Response:
        return HTMLResponse("<!doctype html><title>Back in the application</title><p>done</p>")

    async def metadata(request: Request) -> Response:
        base = f"{request.url.scheme}://{request.url.netloc}"
        return JSONResponse(
            {
                "client_id": f"{base}{cimd_path}",
                "client_name": "Notebook assistant for the platform team (self-hosted)",
                "redirect_uris": [f"{base}/callback"],
                "grant_types": ["authorization_code"],
                "token_endpoint_auth_method": "none",
            }
        )

    return Starlette(routes=[Route("/callback", callback), Route(cimd_path, metadata)])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The dev AS over real HTTP, served from a thread (Selenium's calls block)."""
    clock = Clock()
    # content-addressed, as some hosts publish them: 64 characters with no place to break a line
    cimd_path = "/client-metadata/" + hashlib.sha256(b"notebook assistant").hexdigest() + ".json"
    state_dir = seeded(tmp_path_factory.mktemp("authserver"))
    with contextlib.ExitStack() as stack:
        portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
        issuer, app, _manifest = stack.enter_context(
            portal.wrap_async_context_manager(
                serve_auth_server(
                    sample_manifest(), state_dir=state_dir, clock=clock, allow_loopback_cimd=True
                )
            )
        )
        app_url = stack.enter_context(
            portal.wrap_async_context_manager(running_app(_callback_app(cimd_path), sock=bind_loopback()))
        )
        yield Site(issuer, f"{app_url}/callback", f"{app_url}{cimd_path}", clock, app)


@pytest.fixture(scope="module")
def chromium() -> Iterator[WebDriver]:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.fail(f"{' and '.join(missing)} missing: run scripts/setup.d/50-chromium.sh as root")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"):
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # CI runs as root, where Chromium's sandbox can't start
    # a driver path given: Selenium Manager (which would look for and download drivers) is skipped
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(15)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chromium: WebDriver) -> WebDriver:
    """The shared browser, as a stranger: no cookies, laptop-sized."""
    chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    _viewport(chromium, LAPTOP)
    return chromium


def _viewport(driver: WebDriver, size: tuple[int, int]) -> None:
    width, height = size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        # mobile: a phone browser, which lays out at 980px unless the page declares a viewport
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def _screenshot(driver: WebDriver, path: pathlib.Path) -> None:
    """The whole page, not only the part in the viewport."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def look(driver: WebDriver, tmp_path: pathlib.Path, name: str) -> None:
    """Screenshot the page at both widths and check what a user would notice there."""
    for label, size in (("phone", PHONE), ("laptop", LAPTOP)):
        _viewport(driver, size)
        facts: dict[str, Any] = driver.execute_script(FACTS_JS)
        _screenshot(driver, tmp_path / f"{name}-{label}.png")
        where = f"{name} at {label} width"
        assert facts["innerWidth"] == size[0], (
            f"{where}: laid out {facts['innerWidth']}px wide (no viewport meta, or content too wide)"
        )
        assert facts["scrollWidth"] <= facts["innerWidth"], f"{where}: scrolls sideways"
        for button in facts["buttons"]:
            assert button["left"] >= 0, f"{where}: {button} off screen"
            assert button["right"] <= size[0], f"{where}: {button} off screen"
            assert button["height"] >= 44, f"{where}: {button} too small to tap"  # WCAG 2.5.5
        assert facts["unlabelled"] == [], f"{where}: fields without a label"
        assert facts["lowContrast"] == [], f"{where}: text below WCAG AA contrast"
    _viewport(driver, LAPTOP)


def authorize_url(site: Site, *, scope: str = "db:read", **overrides: str) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": "fleet-client",
        "redirect_uri": site.callback,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": DB,
        "scope": scope,
        "state": "st-browser",
    } | overrides
    return f"{site.issuer}/oauth/authorize?{urlencode(params)}", verifier


def heading(driver: WebDriver) -> str:
    return driver.find_element(By.TAG_NAME, "h1").text


def text(driver: WebDriver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def focused(driver: WebDriver) -> str:
    """Where the keyboard is: `body`, `input[name=user_code]`, `input[name=user]=alice`,
    `button[name=decision]=approve`, …"""
    described: str = driver.execute_script(
        "const e = document.activeElement;"
        "return e.tagName.toLowerCase() + (e.name ? `[name=${e.name}]` : '')"
        " + (e.type === 'radio' || e.tagName === 'BUTTON' ? `=${e.value}` : '');"
    )
    return described


def button(driver: WebDriver, label: str) -> WebElement:
    return driver.find_element(By.XPATH, f"//button[normalize-space()='{label}']")


def pick(driver: WebDriver, user: str) -> None:
    """Click the user's label, as a person would (not the tiny radio)."""
    driver.find_element(By.XPATH, f"//label[.//input[@name='user' and @value='{user}']]").click()


def submit(driver: WebDriver, label: str) -> None:
    old = driver.find_element(By.TAG_NAME, "html")
    button(driver, label).click()
    WebDriverWait(driver, 10).until(lambda d: old.id != d.find_element(By.TAG_NAME, "html").id)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def exchange(site: Site, code: str, verifier: str) -> dict[str, Any]:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "client_id": "fleet-client",
        "redirect_uri": site.callback,
    }
    response = httpx2.post(f"{site.issuer}/oauth/token", data=data, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_sign_in_consent_and_back_to_the_application_with_a_code(
    browser: WebDriver, site: Site, tmp_path: pathlib.Path
) -> None:
    url, verifier = authorize_url(site, scope="db:read db:write")
    browser.get(url)
    assert heading(browser) == "Sign in to the fleet"
    assert browser.title == "Sign in to the fleet"
    assert focused(browser) == "input[name=user]=alice"  # type straight away: arrows pick, Enter signs in
    assert browser.find_element(By.CSS_SELECTOR, "fieldset > legend").text == "Sign in as"  # the radio group
    page = text(browser)
    assert "pre-registered client fleet-client" in page
    assert DB in page
    assert "this computer" in page  # the loopback redirect warning
    form = button(browser, "Sign in").find_element(By.XPATH, "./ancestor::form")
    assert form.get_attribute("action") == f"{site.issuer}/oauth/login"
    assert form.get_attribute("method") == "post"
    look(browser, tmp_path, "login")

    pick(browser, "alice")
    submit(browser, "Sign in")
    assert heading(browser) == "Allow access?"
    page = text(browser)
    assert "Signed in as alice" in page
    assert "db:read" in page
    assert "db:write" in page
    # Enter must not approve by accident: nothing on the consent page starts focused
    assert focused(browser) == "body"
    form = button(browser, "Approve").find_element(By.XPATH, "./ancestor::form")
    assert form.get_attribute("action") == f"{site.issuer}/oauth/consent"
    look(browser, tmp_path, "consent")

    submit(browser, "Approve")
    assert browser.title == "Back in the application"
    assert browser.current_url.startswith(site.callback + "?")
    got = query(browser.current_url)
    assert got["state"] == "st-browser"
    assert got["iss"] == site.issuer
    assert exchange(site, got["code"], verifier)["scope"] == "db:read db:write"


def test_keyboard_only_sign_in(browser: WebDriver, site: Site) -> None:
    """Arrow keys move through the users from the focused first one; Enter signs in."""
    browser.get(authorize_url(site)[0])
    ActionChains(browser).send_keys(Keys.ARROW_DOWN).perform()
    assert focused(browser) == "input[name=user]=bob"
    old = browser.find_element(By.TAG_NAME, "html")
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    WebDriverWait(browser, 10).until(lambda d: old.id != d.find_element(By.TAG_NAME, "html").id)
    assert "Signed in as bob" in text(browser)
    assert focused(browser) == "body"
    ActionChains(browser).send_keys(Keys.TAB).perform()  # the first Tab reaches Approve
    assert focused(browser) == "button[name=decision]=approve"


def test_signed_in_user_goes_straight_to_consent_and_deny_tells_the_application(
    browser: WebDriver, site: Site
) -> None:
    url, _ = authorize_url(site)
    browser.get(url)
    pick(browser, "alice")
    submit(browser, "Sign in")
    submit(browser, "Deny")
    assert query(browser.current_url)["error"] == "access_denied"
    browser.get(authorize_url(site)[0])
    assert heading(browser) == "Allow access?"  # the session cookie kept alice signed in


def test_consent_says_which_requested_scopes_will_not_be_granted(
    browser: WebDriver, site: Site, tmp_path: pathlib.Path
) -> None:
    url, verifier = authorize_url(site, scope="db:read db:write")
    browser.get(url)
    pick(browser, "bob")  # bob holds db:read only
    submit(browser, "Sign in")
    granted = browser.find_element(By.ID, "granted")
    refused = browser.find_element(By.ID, "not-granted")
    assert granted.text.split() == ["db:read"]
    assert "db:write" in refused.text
    assert "bob does not hold db:write" in text(browser)
    look(browser, tmp_path, "consent-partial")
    submit(browser, "Approve")
    assert exchange(site, query(browser.current_url)["code"], verifier)["scope"] == "db:read"


def test_consent_with_nothing_grantable_offers_no_approve_button(
    browser: WebDriver, site: Site, tmp_path: pathlib.Path
) -> None:
    url, _ = authorize_url(site, scope="db:write")
    browser.get(url)
    pick(browser, "bob")
    submit(browser, "Sign in")
    assert heading(browser) == "Nothing to approve"
    page = text(browser)
    assert "None of the requested permissions can be granted to bob" in page
    assert "this computer" not in page  # the "approve only if" warning: there is no Approve
    assert "bob does not hold db:write" in page
    assert browser.find_elements(By.XPATH, "//button[normalize-space()='Approve']") == []
    look(browser, tmp_path, "consent-nothing")
    submit(browser, "Back to the application")
    got = query(browser.current_url)
    assert got["error"] == "access_denied"
    assert got["state"] == "st-browser"


def test_metadata_document_client_with_a_long_url_fits_a_phone(
    browser: WebDriver, site: Site, tmp_path: pathlib.Path
) -> None:
    url, _ = authorize_url(site, client_id=site.cimd_client_id)
    browser.get(url)
    page = text(browser)
    assert "127.0.0.1" in page
    assert site.cimd_client_id in page.replace("\n", "")
    assert "(self-asserted)" in page
    look(browser, tmp_path, "login-cimd")


def test_wrong_password_keeps_the_user_and_focuses_the_password(
    browser: WebDriver, site: Site, tmp_path: pathlib.Path
) -> None:
    url, _ = authorize_url(site)
    browser.get(url)
    pick(browser, "carol")
    browser.find_element(By.NAME, "password").send_keys("not-her-password")
    submit(browser, "Sign in")
    assert "Unknown user or wrong password." in text(browser)
    carol = browser.find_element(By.CSS_SELECTOR, "input[name=user][value=carol]")
    assert carol.is_selected()
    assert focused(browser) == "input[name=password]"
    error = browser.find_element(By.ID, "error")
    assert error.get_attribute("role") == "alert"  # read out by a screen reader
    assert browser.find_element(By.TAG_NAME, "fieldset").get_attribute("aria-describedby") == "error"
    look(browser, tmp_path, "login-error")
    browser.find_element(By.NAME, "password").send_keys("carol-dev-pw")
    submit(browser, "Sign in")
    assert "Signed in as carol" in text(browser)


def test_device_flow_code_entry_and_approval(browser: WebDriver, site: Site, tmp_path: pathlib.Path) -> None:
    started = start_device(site, "db:read db:write")
    browser.get(started["verification_uri"])
    assert heading(browser) == "Connect a device"
    code_field = browser.find_element(By.NAME, "user_code")
    assert focused(browser) == "input[name=user_code]"
    look(browser, tmp_path, "device-entry")
    code_field.send_keys(started["user_code"].replace("-", "").lower())  # typed sloppily
    pick(browser, "bob")
    submit(browser, "Continue")
    assert heading(browser) == "Allow access?"
    assert "Signed in as bob" in text(browser)
    assert browser.find_element(By.ID, "granted").text.split() == ["db:read"]
    assert "bob does not hold db:write" in text(browser)
    look(browser, tmp_path, "device-consent")
    submit(browser, "Approve")
    assert heading(browser) == "Device connected"
    look(browser, tmp_path, "device-done")
    token = httpx2.post(
        f"{site.issuer}/oauth/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": started["device_code"],
            "client_id": "fleet-client",
        },
        timeout=10,
    ).json()
    assert token["scope"] == "db:read"


def test_device_request_with_nothing_grantable_can_only_be_cancelled(
    browser: WebDriver, site: Site, tmp_path: pathlib.Path
) -> None:
    started = start_device(site, "db:write")
    browser.get(started["verification_uri_complete"])
    pick(browser, "bob")
    submit(browser, "Continue")
    assert heading(browser) == "Nothing to approve"
    assert "bob does not hold db:write" in text(browser)
    assert browser.find_elements(By.XPATH, "//button[normalize-space()='Approve']") == []
    submit(browser, "Cancel")
    assert heading(browser) == "Request denied"
    look(browser, tmp_path, "device-denied")


def test_device_wrong_password_keeps_the_code_and_the_user(browser: WebDriver, site: Site) -> None:
    started = start_device(site)
    browser.get(started["verification_uri_complete"])
    pick(browser, "carol")
    browser.find_element(By.NAME, "password").send_keys("not-her-password")
    submit(browser, "Continue")
    assert "Unknown user or wrong password." in text(browser)
    code = browser.find_element(By.NAME, "user_code").get_attribute("value")
    assert code == started["user_code"].replace("-", "")
    assert browser.find_element(By.CSS_SELECTOR, "input[name=user][value=carol]").is_selected()
    assert focused(browser) == "input[name=password]"
    browser.find_element(By.NAME, "password").send_keys("carol-dev-pw")
    submit(browser, "Continue")
    assert "Signed in as carol" in text(browser)


def test_device_link_with_the_code_focuses_the_next_empty_field(browser: WebDriver, site: Site) -> None:
    started = start_device(site)
    browser.get(started["verification_uri_complete"])
    assert browser.find_element(By.NAME, "user_code").get_attribute("value") == started["user_code"]
    assert focused(browser) == "input[name=user]=alice"
    # no user picked: the browser itself stops the submit and says why
    button(browser, "Continue").click()
    assert heading(browser) == "Connect a device"
    assert browser.find_element(By.CSS_SELECTOR, "input[name=user]").get_attribute("validationMessage")


def test_unknown_device_code_is_shown_at_the_field(
    browser: WebDriver, site: Site, tmp_path: pathlib.Path
) -> None:
    browser.get(f"{site.issuer}/device")
    browser.find_element(By.NAME, "user_code").send_keys("BCDF-GHJK")
    pick(browser, "alice")
    submit(browser, "Continue")
    field = browser.find_element(By.NAME, "user_code")
    assert "Unknown or expired code." in text(browser)
    assert field.get_attribute("aria-invalid") == "true"
    assert focused(browser) == "input[name=user_code]"
    error = browser.find_element(By.CSS_SELECTOR, ".err")
    assert error.get_attribute("id") in (field.get_attribute("aria-describedby") or "").split()
    look(browser, tmp_path, "device-unknown")


def start_device(site: Site, scope: str = "db:read") -> dict[str, Any]:
    response = httpx2.post(
        f"{site.issuer}/oauth/device/code",
        data={"client_id": "fleet-client", "resource": DB, "scope": scope},
        timeout=10,
    )
    body: dict[str, Any] = response.json()
    return body


def test_device_code_that_expires_before_approval(
    browser: WebDriver, site: Site, tmp_path: pathlib.Path
) -> None:
    started = start_device(site)
    browser.get(started["verification_uri_complete"])
    pick(browser, "alice")
    submit(browser, "Continue")
    site.clock.now += 1801  # device codes live 1800 s
    try:
        submit(browser, "Approve")
    finally:
        site.clock.now -= 1801
    assert heading(browser) == "Refused"
    assert "Unknown or expired code." in text(browser)
    assert "Start again from the code your device shows." in text(browser)
    look(browser, tmp_path, "device-expired")


def test_too_many_wrong_device_codes_says_how_long_to_wait(
    browser: WebDriver, site: Site, tmp_path: pathlib.Path
) -> None:
    failures = site.app.state.ctx.device_failures
    browser.get(f"{site.issuer}/device")
    failures["127.0.0.1"] = [site.clock.now] * 10  # as after ten wrong guesses from this address
    try:
        browser.find_element(By.NAME, "user_code").send_keys("BCDF-GHJK")
        pick(browser, "alice")
        submit(browser, "Continue")
    finally:
        failures.clear()
    assert heading(browser) == "Too many attempts"
    assert "wait 5 minutes" in text(browser)
    look(browser, tmp_path, "device-locked")


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"client_id": "no-such-client"}, "unknown client_id"),
        ({"redirect_uri": "https://evil.example/cb"}, "redirect_uri is not registered for this client"),
    ],
    ids=["unknown-client", "bad-redirect"],
)
def test_bad_client_or_redirect_stays_here_and_says_what_to_do(
    browser: WebDriver, site: Site, tmp_path: pathlib.Path, overrides: dict[str, str], says: str
) -> None:
    url, _ = authorize_url(site, **overrides)
    browser.get(url)
    assert browser.current_url.startswith(site.issuer)  # never sent to an unverified redirect
    assert heading(browser) == "Authorization failed"
    page = text(browser)
    assert says in page
    assert "Go back to the application" in page
    look(browser, tmp_path, "error-" + overrides.popitem()[0])


def test_forged_csrf_token_is_refused(browser: WebDriver, site: Site, tmp_path: pathlib.Path) -> None:
    browser.get(authorize_url(site)[0])
    browser.execute_script("document.querySelector('input[name=csrf]').value = 'forged'")
    pick(browser, "alice")
    submit(browser, "Sign in")
    assert heading(browser) == "Sign-in refused"
    assert "This form has expired or was not issued to you." in text(browser)
    assert "Start again from the application" in text(browser)
    look(browser, tmp_path, "error-csrf")


def test_lost_session_cookie_is_refused(browser: WebDriver, site: Site) -> None:
    browser.get(authorize_url(site)[0])
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    pick(browser, "alice")
    submit(browser, "Sign in")
    assert heading(browser) == "Sign-in refused"


def test_expired_authorization_request(browser: WebDriver, site: Site, tmp_path: pathlib.Path) -> None:
    browser.get(authorize_url(site)[0])
    pick(browser, "alice")
    site.clock.now += 601  # the login + consent round trip is 600 s
    try:
        submit(browser, "Sign in")
    finally:
        site.clock.now -= 601
    assert heading(browser) == "Sign-in refused"
    assert "This authorization request has expired. Start again." in text(browser)
    look(browser, tmp_path, "error-expired")
