from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CaseworkConfig(AppConfig):
    name = "casework"
    verbose_name = _("Casework")

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_delete, post_save

        # Cache invalidation only (the case list's cached filter options), no business logic:
        # members, authorities and grounds change from admin pages and services alike.
        models = (settings.AUTH_USER_MODEL, "casework.Membership", "casework.Authority")
        for model in (*models, "casework.Ground"):
            for signal in (post_save, post_delete):
                signal.connect(_forget_filter_options, sender=model, dispatch_uid=f"fo:{model}")


def _forget_filter_options(sender, update_fields=None, **kwargs) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # every login saves the user: the options do not change
    from casework.filters import sidebar_forget
    from casework.models import Organisation

    organisation_ids: list[int | None] = list(Organisation.objects.values_list("pk", flat=True))
    sidebar_forget(organisation_ids=[*organisation_ids, None])
