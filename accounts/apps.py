from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from accounts import signals  # noqa: F401

        post_migrate.connect(create_cache_table, sender=self, dispatch_uid="accounts.cache_table")


def create_cache_table(sender, using, verbosity=1, **kwargs) -> None:
    """The database cache's table (CACHES without CACHE_URL: rate limits and sessions' cache
    live there), made wherever `migrate` runs: `make run`, the compose `migrate` service, the
    test database. A no-op when it exists or when the cache is Redis."""
    call_command("createcachetable", database=using, verbosity=max(verbosity - 1, 0))
