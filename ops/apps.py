from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    """Operating the installation: encrypted backups, restore, key rotation. No models."""

    name = "ops"
    verbose_name = _("Operations")
