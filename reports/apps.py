from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """Statistics for donors and annual reports, with small numbers suppressed. No models."""

    name = "reports"
    verbose_name = _("Reports")
