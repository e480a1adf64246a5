"""Staff accounts. A custom user model so that sessions can be ended everywhere at once, and
the two second factors (an authenticator app, recovery codes) as django-otp devices that keep
nothing usable in the database."""

import time
from base64 import b32encode
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.util import random_hex

from core.fields import EncryptedTextField, crypto_id_field


# django-otp has no type information: the stubs cannot type the reverse managers of the device
# models (user.totpdevice_set, user.recoverycodedevice_set).
class User(AbstractUser):  # type: ignore[django-manager-missing]
    # Part of the session hash: raising it ends every session of the user at once ("log out
    # everywhere", emergency lockdown), the way a password change does.
    session_generation = models.PositiveIntegerField(default=0, editable=False)
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("The language of the interface; empty follows the browser."),
    )
    locked_at = models.DateTimeField(
        _("locked"),
        null=True,
        blank=True,
        help_text=_("Set when the account is locked in an emergency; an administrator unlocks it."),
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def _get_session_auth_hash(self, secret=None):
        return salted_hmac(
            "accounts.User.session",
            f"{self.password}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def end_all_sessions(self) -> None:
        """Every session of this user stops being valid on its next request."""
        User.objects.filter(pk=self.pk).update(
            session_generation=models.F("session_generation") + 1
        )
        self.refresh_from_db(fields=["session_generation"])


class OrganisationLockdown(models.Model):
    """An organisation locked to its administrators: while this row exists, every other member
    is logged out and refused (accounts.middleware). Lifting the lockdown deletes the row."""

    organisation = models.OneToOneField(
        "casework.Organisation",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="lockdown",
        verbose_name=_("organisation"),
    )
    locked_at = models.DateTimeField(_("locked down at"), auto_now_add=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("locked down by"),
    )

    class Meta:
        verbose_name = _("organisation lockdown")
        verbose_name_plural = _("organisation lockdowns")

    def __str__(self) -> str:
        return f"{self.organisation} ({self.locked_at:%Y-%m-%d %H:%M})"


# --- Second factors -----------------------------------------------------------------------------
# django-otp's own otp_totp and otp_static devices keep the TOTP seed and the recovery codes in
# clear: a database dump or a backup would be enough to pass the second factor. These two
# devices behave like them (same fields, same throttling, same replay rule) but store the seed
# encrypted with the field keys and the codes as salted hashes. Migration 0003 moved the old
# devices here and dropped django-otp's tables.


def new_totp_key() -> str:
    """20 random bytes, hex: django-otp's default seed."""
    return random_hex(20)


class TOTPDevice(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app (RFC 6238 TOTP). The seed is encrypted with FIELD_ENCRYPTION_KEYS,
    bound to this row, and re-encrypted by `manage.py rotate_keys` like every encrypted field.
    A code is accepted once: only time steps after `last_t` count."""

    crypto_id = crypto_id_field()
    key = EncryptedTextField(default=new_totp_key, help_text="The hex seed, encrypted.")
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = _("authenticator app")
        verbose_name_plural = _("authenticator apps")

    @property
    def bin_key(self) -> bytes:
        return bytes.fromhex(self.key)

    def totp(self) -> TOTP:
        """What the user's app computes, at the current time."""
        return TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)

    def verify_token(self, token) -> bool:
        allowed, _why = self.verify_is_allowed()
        if not allowed:
            return False
        totp = self.totp()
        totp.time = time.time()
        token = str(token)
        verified = token.isdigit() and totp.verify(int(token), self.tolerance, self.last_t + 1)
        if verified:
            self.last_t = totp.t()
            if getattr(settings, "OTP_TOTP_SYNC", True):
                self.drift = totp.drift
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
        else:
            self.throttle_increment()
        return verified

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    @property
    def config_url(self) -> str:
        """The otpauth:// URI an authenticator app reads (from a QR code)."""
        issuer = settings.OTP_TOTP_ISSUER.replace(":", "")
        label = quote(f"{issuer}:{self.user.get_username()}")
        params = urlencode(
            {
                "secret": b32encode(self.bin_key).decode(),
                "algorithm": "SHA1",
                "digits": self.digits,
                "period": self.step,
            }
        )
        return f"otpauth://totp/{label}?{params}&issuer={quote(issuer)}"


# The codes are random (10 characters of 31, about 49 bits), not passwords a person chose: a
# salted PBKDF2 with this many iterations already puts a search through a stolen dump out of
# reach (years per code on a GPU), while checking all ten codes stays well under a second. The
# iteration count is stored in each hash, so raising it later keeps existing codes valid.
RECOVERY_CODE_ITERATIONS = 20_000
_hasher = PBKDF2PasswordHasher()


class RecoveryCodeDevice(TimestampMixin, ThrottlingMixin, Device):
    """A user's single-use recovery codes (the container; the codes are RecoveryCode rows)."""

    class Meta(Device.Meta):
        verbose_name = _("recovery codes")
        verbose_name_plural = _("recovery codes")

    def verify_token(self, token) -> bool:
        """Whether `token` is one of the unused codes; if it is, it is used up now. Every code
        is checked whatever matches, so the time taken does not tell which one did."""
        allowed, _why = self.verify_is_allowed()
        if not allowed:
            return False
        match = None
        for code in self.codes.all():
            if code.matches(str(token)) and match is None:
                match = code
        # The device row is locked (django_otp.verify_token), and the delete is conditional on
        # the code still being there: a code works once, even for two requests at the same time.
        used = match is not None and RecoveryCode.objects.filter(pk=match.pk).delete()[0] == 1
        if used:
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
        else:
            self.throttle_increment()
        return used

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_STATIC_THROTTLE_FACTOR", 1)


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=128, help_text="A salted PBKDF2 hash of the code.")

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")

    def __str__(self) -> str:
        return f"recovery code {self.pk}"

    @staticmethod
    def digest_of(code: str) -> str:
        return _hasher.encode(code, _hasher.salt(), iterations=RECOVERY_CODE_ITERATIONS)

    def matches(self, code: str) -> bool:
        """Constant-time comparison (Django's hasher)."""
        return _hasher.verify(code, self.digest)


class CalendarFeed(models.Model):
    """A user's personal calendar feed: its secret address, of which only a hash is kept, so
    that a database dump gives nobody the feed. Making a new address replaces this row;
    revoking deletes it (accounts.feeds)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return f"{self.user} ({self.created_at:%Y-%m-%d})"
