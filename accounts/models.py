"""Staff accounts. A custom user model so that sessions can be ended everywhere at once."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
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
