from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Fictional data: the demo organisation (seed_demo), bulk data for benchmarks (seed_bulk)
    and the demo logins' second factor (demo_totp). No models."""

    name = "demo"
    verbose_name = _("Demo data")
