"""Login in two steps (password, then a TOTP or recovery code), enrolment of an authenticator,
the user's security page, and the emergency locks.

A user is signed in (`auth.login`) only after the second factor: between the two steps the
session holds a short-lived "pending" record, so a password alone never makes an authenticated
session, and LoginRequiredMiddleware keeps such a visitor out of every other page."""

import base64

import django_otp
import segno
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as i18n_set_language

from accounts import services
from accounts.backends import AccountBackend
from accounts.forms import CodeForm, EmergencyLockForm, EnrolForm, NewRecoveryCodesForm
from accounts.models import CalendarFeed, OrganisationLockdown
from casework import audit
from casework.models import AccessEvent, Membership
from core import ratelimit

Action = AccessEvent.Action
User = get_user_model()

PENDING_SESSION_KEY = "accounts_pending"
PENDING_MAX_AGE = 5 * 60  # seconds between the password and the code
BACKEND = "accounts.backends.AccountBackend"
EMERGENCY_LOCK_LIMIT = 10  # requests per address…
EMERGENCY_LOCK_WINDOW = 15 * 60  # …in this many seconds


# --- Step 1: password ---------------------------------------------------------------------------


@login_not_required
@never_cache
@sensitive_post_parameters("password")
def login_view(request):
    next_url = request.POST.get("next") or request.GET.get("next", "")
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(_safe_next(request, next_url))
    form = AuthenticationForm(request, data=request.POST if request.method == "POST" else None)
    if form.is_valid():
        user = form.get_user()
        _pending_start(request, user, next_url)
        if services.totp_device(user) is None:
            return redirect("accounts:enrol")
        return redirect("accounts:verify")
    return render(request, "registration/login.html", {"form": form, "next": next_url})


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer once a username is locked out: the login page, the same whether the
    username exists or not (AXES_LOCKOUT_CALLABLE)."""
    return render(
        request,
        "registration/login.html",
        {"form": AuthenticationForm(request), "locked_out": True, "next": ""},
        status=429,
    )


# --- Step 2: a code -----------------------------------------------------------------------------


@login_not_required
@never_cache
@sensitive_post_parameters("code")
def verify_view(request):
    user = _pending_user(request)
    if user is None:
        return _start_again(request)
    if services.totp_device(user) is None:
        return redirect("accounts:enrol")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        if not AxesProxyHandler.is_allowed(request, {"username": user.get_username()}):
            _pending_drop(request)
            return lockout_response(request)
        code = form.cleaned_data["code"]
        device = services.code_device(user, code)
        if device is not None and services.is_throttled(device):
            form.add_error("code", _("Too many wrong codes: wait a minute, then try again."))
        elif device is not None and services.code_verify(device=device, code=code):
            next_url = _login(request, user, device)
            if not next_url:
                return render(request, "accounts/organisation_locked.html", status=403)
            return redirect(next_url)
        else:
            _code_failed(request, user, form)
    return render(request, "accounts/verify.html", {"form": form})


@login_not_required
@never_cache
@sensitive_post_parameters("code")
def enrol_view(request):
    """First login: set up an authenticator app, prove it with one code, get recovery codes."""
    user = _pending_user(request)
    if user is None:
        return _start_again(request)
    if services.totp_device(user) is not None:
        return redirect("accounts:verify")
    if services.shut_out_by_lockdown(user):
        _pending_drop(request)
        return render(request, "accounts/organisation_locked.html", status=403)
    device = services.totp_device_for_enrolment(user)
    form = EnrolForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        code = form.cleaned_data["code"]
        if services.is_throttled(device):
            form.add_error("code", _("Too many wrong codes: wait a minute, then try again."))
        elif services.code_verify(device=device, code=code):
            codes = services.totp_confirm(device=device, request=request)
            next_url = _login(request, user, device)
            if not next_url:
                return render(request, "accounts/organisation_locked.html", status=403)
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": _display(codes), "next": next_url, "first_time": True},
            )
        else:
            _code_failed(request, user, form)
    secret = base64.b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "qr": segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2),
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    }
    return render(request, "accounts/enrol.html", context)


def _pending_start(request, user, next_url: str) -> None:
    request.session.cycle_key()
    request.session[PENDING_SESSION_KEY] = {
        "user": user.pk,
        "hash": user.get_session_auth_hash(),
        "at": timezone.now().timestamp(),
        "next": next_url,
    }


def _pending_drop(request) -> None:
    request.session.pop(PENDING_SESSION_KEY, None)


def _pending_user(request):
    """The user who gave the right password in this session a moment ago, if still allowed."""
    pending = request.session.get(PENDING_SESSION_KEY)
    if not isinstance(pending, dict):
        return None
    user = User.objects.filter(pk=pending.get("user")).first()
    fresh = timezone.now().timestamp() - pending.get("at", 0) <= PENDING_MAX_AGE
    if (
        user is None
        or not fresh
        or not AccountBackend().user_can_authenticate(user)
        # A password change, "log out everywhere" or a lock since the password step.
        or not constant_time_compare(pending.get("hash", ""), user.get_session_auth_hash())
    ):
        _pending_drop(request)
        return None
    return user


def _start_again(request):
    messages.info(request, _("Please log in again."))
    return redirect("login")


def _code_failed(request, user, form) -> None:
    """A wrong code: logged, and counted by django-axes like a wrong password (5 wrong codes or
    passwords lock the username out); django-otp also slows down further tries."""
    audit.record(request, Action.LOGIN_FAILED, user=user, object_type="second_factor")
    user_login_failed.send(
        sender=__name__,
        credentials={"username": user.get_username(), "second_factor": True},
        request=request,
    )
    if getattr(request, "axes_locked_out", False):
        _pending_drop(request)  # AxesMiddleware answers with the lockout page
    form.add_error("code", _("This code is not valid, or it has already been used."))


def _login(request, user, device) -> str:
    """Sign the user in, verified by `device`; returns where to go next, or "" when the
    organisation is under lockdown and the user is not one of its administrators."""
    next_url = request.session.get(PENDING_SESSION_KEY, {}).get("next", "")
    _pending_drop(request)
    if services.shut_out_by_lockdown(user):
        return ""
    login(request, user, backend=BACKEND)
    django_otp.login(request, device)
    audit.record(request, Action.LOGIN, user=user)
    return _safe_next(request, next_url)


def _safe_next(request, url: str) -> str:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _display(codes: list[str]) -> list[str]:
    return [services.format_recovery_code(code) for code in codes]


# --- Logging out --------------------------------------------------------------------------------


@login_not_required
@require_POST
def logout_view(request):
    if request.user.is_authenticated:
        audit.record(request, Action.LOGOUT)
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


@require_POST
def logout_everywhere_view(request):
    services.sessions_end_all(user=request.user, by=request.user, request=request)
    logout(request)
    messages.success(request, _("You have been logged out on every device, this one included."))
    return redirect("login")


# --- The security page --------------------------------------------------------------------------


@never_cache
def security_view(request):
    user = request.user
    lockdown = None
    if services.is_administrator(user):
        lockdown = OrganisationLockdown.objects.filter(
            organisation_id=user.membership.organisation_id
        ).first()
    context = {
        "device": services.totp_device(user),
        "recovery_remaining": services.recovery_codes_remaining(user),
        "is_administrator": services.is_administrator(user),
        "lockdown": lockdown,
        "calendar_feed": CalendarFeed.objects.filter(user=user).first(),
    }
    return render(request, "accounts/security.html", context)


@never_cache
@sensitive_post_parameters("password", "code")
def recovery_codes_view(request):
    """New recovery codes, for the password and a current code from the app: a session alone
    (an unlocked computer) is not enough. A wrong password counts as a failed login (django-axes,
    through authenticate()), a wrong code as a wrong second factor."""
    user = request.user
    device = services.totp_device(user)
    form = NewRecoveryCodesForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        password_ok = (
            authenticate(
                request, username=user.get_username(), password=form.cleaned_data["password"]
            )
            == user
        )
        if not password_ok:
            form.add_error("password", _("This password is not right."))
        elif device is not None and services.is_throttled(device):
            form.add_error("code", _("Too many wrong codes: wait a minute, then try again."))
        elif device is None or not services.code_verify(
            device=device, code=form.cleaned_data["code"]
        ):
            _code_failed(request, user, form)
        else:
            codes = services.recovery_codes_create(user=user, request=request)
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": _display(codes), "next": resolve_url("accounts:security")},
            )
    return render(request, "accounts/recovery_codes_new.html", {"form": form})


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's view: the current session stays (update_session_auth_hash), every other session
    of the user ends, because the session hash covers the password."""

    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)
        audit.record(
            self.request,
            Action.SECURITY,
            object_type="password",
            object_id=str(self.request.user.pk),
        )
        return response


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/password_change_done.html"


# --- Emergency locks ----------------------------------------------------------------------------


@login_not_required
@never_cache
def emergency_lock_view(request):
    """Public: whoever fears their device was taken locks their own account by username. The
    answer is the same whether the username exists or not."""
    form = EmergencyLockForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if _emergency_lock_throttled(request):
            return render(
                request,
                "accounts/emergency_lock.html",
                {"form": form, "throttled": True},
                status=429,
            )
        if form.is_valid():
            username = form.cleaned_data["username"]
            services.account_lock_by_username(username=username, request=request)
            if request.user.is_authenticated and request.user.get_username() == username:
                logout(request)
            return render(request, "accounts/emergency_lock_done.html")
    return render(request, "accounts/emergency_lock.html", {"form": form})


def _emergency_lock_throttled(request) -> bool:
    return ratelimit.over_limit(
        request, scope="emergency-lock", limit=EMERGENCY_LOCK_LIMIT, window=EMERGENCY_LOCK_WINDOW
    )


@never_cache
def organisation_lockdown_view(request):
    """Administrators only: lock the organisation to its administrators, or lift that."""
    if not services.is_administrator(request.user):
        raise PermissionDenied
    organisation = request.user.membership.organisation
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "lock":
            services.organisation_lock_down(
                organisation=organisation, by=request.user, request=request
            )
            messages.warning(
                request, _("The organisation is locked down: only administrators can log in.")
            )
        elif action == "lift":
            services.organisation_lift_lockdown(
                organisation=organisation, by=request.user, request=request
            )
            messages.success(request, _("The lockdown is lifted: every member can log in again."))
        return redirect("accounts:organisation_lockdown")
    context = {
        "organisation": organisation,
        "lockdown": OrganisationLockdown.objects.filter(organisation=organisation)
        .select_related("locked_by")
        .first(),
        "members_shut_out": Membership.objects.filter(organisation=organisation)
        .exclude(role=Membership.Role.ADMINISTRATOR)
        .count(),
    }
    return render(request, "accounts/organisation_lockdown.html", context)


@login_not_required
def set_language_view(request):
    """Django's language switch; for a signed-in user the choice also goes into their profile,
    which then decides the language on every device."""
    response = i18n_set_language(request)
    language = request.POST.get("language", "")
    if (
        request.method == "POST"
        and request.user.is_authenticated
        and language in dict(settings.LANGUAGES)
    ):
        get_user_model().objects.filter(pk=request.user.pk).update(language=language)
    return response
