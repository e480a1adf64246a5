"""What the journeys share: logging in through the real form (password, then a TOTP code),
screenshots at desktop and phone size, console-error watching and the axe-core check."""

import contextlib
import os
import signal
import time
from pathlib import Path

from django_otp.oath import TOTP
from playwright.sync_api import expect

from tests.factories import PASSWORD, make_totp_device

BASE_DIR = Path(__file__).resolve().parents[2]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
AXE = BASE_DIR / "node_modules" / "axe-core" / "axe.min.js"
LOGOUT_BUTTON = "form[action='/accounts/logout/'] [type=submit]"
# The French default template the journeys draft from (letters/default_templates/ofpra.fr.txt).
OFPRA_TEMPLATE = "Lettre de soutien à l'OFPRA (demande d'asile)"


def watch_for_errors(page) -> list[str]:
    """Uncaught script errors and console errors (a CSP violation is one) of `page`."""
    errors = []
    page.on("pageerror", lambda error: errors.append(f"{page.url}: page error: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"{page.url}: console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    return errors


def fresh_code(device) -> str:
    """A code the server accepts now: django-otp takes each time step once, so a second login of
    the same user within 30 s uses the next step (within its tolerance), or waits for one."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    now = totp.t()
    ahead = max(0, (device.last_t or -1) + 1 - now)
    if ahead > device.tolerance:
        time.sleep(device.step - (time.time() - device.t0) % device.step + 0.1)
        return fresh_code(device)
    totp.time = totp.time + ahead * device.step
    return f"{totp.token():0{device.digits}d}"


@contextlib.contextmanager
def worker_paused(worker):
    """Freeze the Celery worker (its whole process group: SIGSTOP, then SIGCONT), so that a page
    can be seen waiting for it; tasks queued meanwhile wait in the broker. Much faster than a
    stop and a new start (a warm shutdown can take the whole stop timeout)."""
    os.killpg(worker.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(worker.process.pid, signal.SIGCONT)


def submit_password(page, site_url, username, password=PASSWORD) -> None:
    page.goto(f"{site_url}/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("form:has(#id_password) [type=submit]").click()
    page.wait_for_load_state()


def log_in(page, site_url, user, *, landing="/") -> None:
    """Both steps of the real login, in whatever language the page is in; the user gets an
    authenticator first (created once) and the test types the code it shows."""
    device = make_totp_device(user=user)
    submit_password(page, site_url, user.username)
    page.wait_for_url(f"{site_url}/accounts/login/code/")
    page.locator("#id_code").fill(fresh_code(device))
    page.locator("form:has(#id_code) [type=submit]").click()
    page.wait_for_url(f"{site_url}{landing}")
    expect(page.locator(LOGOUT_BUTTON)).to_be_visible()


def fits_width(page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


def settle(page) -> None:
    """Two animation frames: the layout after a resize has been painted."""
    page.evaluate(
        "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r())))"
    )


class Shots:
    """Screenshots of one journey in test-artifacts/browser/<journey>/: `<n>-<name>-desktop.png`
    (1280×900, full page) and, for the pages phones must handle, `<n>-<name>-phone.png` (the same
    page resized to 390×844, which must not scroll sideways)."""

    def __init__(self, artifacts: Path, journey: str):
        self.folder = artifacts / journey
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0

    def take(self, page, name: str, *, phone: bool = False) -> None:
        self.count += 1
        stem = f"{self.count:02d}-{name}"
        viewport = page.viewport_size or DESKTOP
        settle(page)
        page.screenshot(path=self.folder / f"{stem}-desktop.png", full_page=True)
        if not phone:
            return
        page.set_viewport_size(PHONE)
        try:
            settle(page)
            page.screenshot(path=self.folder / f"{stem}-phone.png", full_page=True)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (
                f"{page.url} scrolls sideways on a phone: {width} px wide at {PHONE['width']} px"
            )
        finally:
            page.set_viewport_size(viewport)
            settle(page)

    def take_phone(self, page, name: str) -> None:
        """A page already open in a phone context (is_mobile=True, 390×844): the screenshot as a
        phone shows it, which must not scroll sideways either. A page without a viewport meta
        tag (the print preview of a letter) gets the phone's zoomed-out 980 px layout."""
        self.count += 1
        settle(page)
        page.screenshot(path=self.folder / f"{self.count:02d}-{name}-phone.png", full_page=True)
        width, layout = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= layout, f"{page.url} scrolls sideways on a phone: {width} px in {layout}"


PHONE_CONTEXT = {
    "viewport": PHONE,
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def run_axe(page) -> list[dict]:
    """axe-core's violations on the page as it is now. The page's CSP forbids the inline script
    that add_script_tag makes: the page must come from a context with bypass_csp=True."""
    assert AXE.exists(), f"{AXE} is missing: run `make node-deps` (npm ci) first"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({
                    target: n.target.join(" "), html: n.html, summary: n.failureSummary,
                })),
            }));
        }"""
    )
    return result


def describe_violations(url: str, violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({url})")
        for node in v["nodes"][:8]:
            lines.append(f"    {node['target']}: {node['html'][:160]}")
            for line in (node["summary"] or "").splitlines()[:4]:
                lines.append(f"        {line}")
    return "\n".join(lines)
