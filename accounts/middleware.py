from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import render, resolve_url
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.services import shut_out_by_lockdown
from accounts.signals import ACTIVE_AT_SESSION_KEY, LOGIN_AT_SESSION_KEY
from casework import audit
from casework.models import AccessEvent

# Requests that the page makes by itself (htmx polling, hx-trigger="every …") send this header
# (hx-headers on the polling element), and do not count as activity.
POLL_HEADER = "Pristan-Poll"
# The idle clock moves, and the session is saved, at most this often (seconds): an active user
# costs one session write a minute, not one a request.
IDLE_CLOCK_STEP = 60


class SessionSecurityMiddleware:
    """Ends a signed-in session that must not go on, before any view sees it:

    - not verified by a second factor (our login only signs a user in after the code, so such a
      session was made some other way);
    - older than PRISTAN_SESSION_MAX_AGE since the login, however active;
    - idle for longer than SESSION_COOKIE_AGE: no request of the user's own (polling is not
      one) since the idle clock last moved;
    - its user is a non-administrator member of an organisation under lockdown.

    Otherwise it moves the idle clock, when it is a minute or more behind and the request is
    not a poll. The session is saved only then (SESSION_SAVE_EVERY_REQUEST is off), which also
    renews its expiry in the store and the cookie, so an idle session also expires there.

    Locked and deactivated users need nothing here: the auth backend no longer loads them.
    Must come after django_otp's OTPMiddleware and MessageMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated:
            now = timezone.now().timestamp()
            reason = self.refusal(request, user, now)
            if reason:
                return self.end_session(request, reason)
            self.move_idle_clock(request, now)
        return self.get_response(request)

    @staticmethod
    def refusal(request, user, now: float) -> str:
        if not user.is_verified():
            return "unverified"
        login_at = request.session.get(LOGIN_AT_SESSION_KEY)
        if (
            not isinstance(login_at, int | float)
            or now - login_at > settings.PRISTAN_SESSION_MAX_AGE
        ):
            return "expired"
        # (A session from before the idle clock has none: its store expiry was the clock.)
        active_at = request.session.get(ACTIVE_AT_SESSION_KEY, now)
        if not isinstance(active_at, int | float) or now - active_at > settings.SESSION_COOKIE_AGE:
            return "idle"
        if shut_out_by_lockdown(user):
            return "organisation_lockdown"
        return ""

    @staticmethod
    def move_idle_clock(request, now: float) -> None:
        if request.headers.get(POLL_HEADER) == "1":
            return
        active_at = request.session.get(ACTIVE_AT_SESSION_KEY)
        if active_at is None or now - active_at >= IDLE_CLOCK_STEP:
            request.session[ACTIVE_AT_SESSION_KEY] = now

    @staticmethod
    def end_session(request, reason: str) -> HttpResponse:
        audit.record(
            request, AccessEvent.Action.LOGOUT, object_type="session_end", object_id=reason
        )
        logout(request)
        if reason == "organisation_lockdown":
            return render(request, "accounts/organisation_locked.html", status=403)
        if reason in ("expired", "idle"):
            messages.info(request, _("Your session has ended: please log in again."))
        if request.headers.get("HX-Request") == "true":
            # A fragment request: send the whole page to the login form, not into the fragment.
            return HttpResponse(
                status=204, headers={"HX-Redirect": resolve_url(settings.LOGIN_URL)}
            )
        return redirect_to_login(request.get_full_path())


class UserLanguageMiddleware:
    """The interface language follows the user's profile, then the browser (LocaleMiddleware's
    choice). Goes after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user and user.is_authenticated else ""
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
