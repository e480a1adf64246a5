"""Who may do what: roles grant capabilities; cases are reached only through the access helpers.

The visibility rule itself lives on the queryset (`Case.objects.visible_to(user)`); this module
gives views one way to fetch a case or refuse. The role table is casework.capabilities.
"""

from collections.abc import Callable
from functools import wraps
from typing import Concatenate

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponseBase

from casework.capabilities import Capability
from casework.models import Case, Membership, Share
from core.users import AnyUser

type View[**P] = Callable[Concatenate[HttpRequest, P], HttpResponseBase]


def membership_of(user: AnyUser) -> Membership | None:
    """The signed-in user's membership (None for anonymous users and users without one)."""
    return getattr(user, "membership", None) if user.is_authenticated else None


def user_can(user: AnyUser, capability: Capability) -> bool:
    membership = membership_of(user)
    return bool(membership and user.is_active and membership.can(capability))


def capability_required[**P](capability: Capability) -> Callable[[View[P]], View[P]]:
    """Views that need a capability but no particular case: 403 without it."""

    def decorator(view: View[P]) -> View[P]:
        @wraps(view)
        def wrapped(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            if not user_can(request.user, capability):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class OutOfScope(Http404):
    """A 404 that the access log records as a denial (middleware.AccessDeniedLogMiddleware).

    The user gets exactly the 404 of an object that does not exist. The object's id is kept only
    when the object belongs to the user's own organisation: the log is organisation-scoped and
    readable by that organisation's administrators, so it must not become an oracle for which
    references exist elsewhere. A probe of another organisation's case and of a reference that
    does not exist leave the same entry."""

    def __init__(
        self, object_type: str, object_id: int | str = "", *, case_id: int | None = None
    ) -> None:
        super().__init__()
        self.object_type = object_type
        self.object_id = str(object_id)
        self.case_id = case_id


class Forbidden(PermissionDenied):
    """A 403 about a known object (which the user may see), so that the log names it."""

    def __init__(self, obj: models.Model) -> None:
        super().__init__()
        self.object = obj


def same_organisation(user: AnyUser, organisation_id: int | None) -> bool:
    membership = membership_of(user)
    return membership is not None and membership.organisation_id == organisation_id


def get_case_for_user(
    user: AnyUser, reference: str, *, capability: Capability | None = None
) -> Case:
    """The case with this reference if the user may see it, else 404 — the same answer as for a
    case that does not exist, so that nothing is learnt by probing references. A visible case
    the user may not act on (`capability`) is a 403. Both are logged as denials."""
    try:
        case = (
            Case.objects.visible_to(user)
            .select_related("client", "authority")
            .get(reference=reference)
        )
    except Case.DoesNotExist:
        hidden = Case.objects.filter(reference=reference).values("pk", "organisation_id").first()
        if hidden is None or not same_organisation(user, hidden["organisation_id"]):
            raise OutOfScope("case") from None
        raise OutOfScope("case", hidden["pk"], case_id=hidden["pk"]) from None
    if capability is not None and not user_can(user, capability):
        raise Forbidden(case)
    return case


def get_referral_for_user(user: AnyUser, pk: int) -> Share:
    """A referral to a partner lawyer, for its lawyer (whatever its status: they were told of
    it) or for staff who may refer cases and see its case; for anyone else 404, the same as a
    referral that does not exist. What each may do with it is the view's to check."""
    membership = membership_of(user)
    referrals = Share.objects.select_related("case", "lawyer", "created_by")
    if membership is None or not user.is_active:
        referrals = referrals.none()
    elif membership.role == Membership.Role.LAWYER:
        referrals = referrals.filter(lawyer=user)
    elif membership.can(Capability.SHARE_CASES):
        referrals = referrals.filter(case__in=Case.objects.visible_to(user))
    else:
        referrals = referrals.none()
    share = referrals.filter(pk=pk).first()
    if share is None:
        raise OutOfScope("share")
    return share
