from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """The rights of the person and the retention rules: erasure, the daily retention job and
    the per-person export. No models of its own."""

    name = "privacy"
    verbose_name = _("Privacy")
