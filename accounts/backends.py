from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Exists, OuterRef

from accounts.models import OrganisationLockdown
from accounts.signals import username_hash


class AccountBackend(ModelBackend):
    """Django's backend, refusing accounts locked in an emergency as it refuses inactive ones:
    the password step answers with the same generic message, and existing sessions of such a
    user end on their next request (`get_user` returns None)."""

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and getattr(user, "locked_at", None) is None

    def get_user(self, user_id):
        """The session's user with their membership and whether their organisation is under
        lockdown, in one query: every request reads all three (the menus, the access rule,
        accounts.middleware's lockdown check), two queries fewer per request."""
        lockdown = OrganisationLockdown.objects.filter(
            organisation_id=OuterRef("membership__organisation_id")
        )
        users = (
            get_user_model()
            ._default_manager.select_related("membership")
            .annotate(organisation_locked=Exists(lockdown))
        )
        try:
            user = users.get(pk=user_id)
        except users.model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


def axes_username(request, credentials) -> str | None:
    """What django-axes counts failures under (AXES_USERNAME_CALLABLE): a keyed hash of the
    username, so that its table holds no typed usernames (sometimes a password, by mistake)."""
    username = (credentials or {}).get("username")
    if username is None and request is not None:
        username = request.POST.get("username")
    return username_hash(username) if username else None
