"""Referrals of cases to partner lawyers: the NGO refers and ends, the lawyer accepts, declines
and ends (casework.referrals writes every step)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from casework import audit, referrals
from casework.access import (
    Forbidden,
    get_case_for_user,
    get_referral_for_user,
    membership_of,
    user_can,
)
from casework.capabilities import Capability
from casework.forms import ReferralForm, ReferralReasonForm
from casework.models import Case, Membership, Share


def _is_lawyer(user) -> bool:
    membership = membership_of(user)
    return membership is not None and membership.role == Membership.Role.LAWYER


def referral_create(request, reference):
    """Refer a case to a partner lawyer. Without the client's consent to sharing the page says
    so at once, and a submitted referral is refused with the same words."""
    case = get_case_for_user(request.user, reference, capability=Capability.SHARE_CASES)
    form = ReferralForm(request.POST or None, case=case)
    if request.method == "POST" and form.is_valid():
        try:
            referrals.referral_offer(
                case=case,
                lawyer=form.cleaned_data["lawyer"],
                message=form.cleaned_data["message"],
                ends_at=form.expires_at,
                by=request.user,
                request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("Referral offered: the lawyer sees the case once they accept it.")
            )
            return redirect("casework:case_detail", reference=case.reference)
    audit.record(request, audit.Action.VIEW, case)
    return render(
        request,
        "casework/referral_form.html",
        {"case": case, "form": form, "consent_given": referrals.sharing_consent_given(case)},
    )


def referral_list(request):
    """Partner lawyers: the referrals offered to them, the cases they hold, the past ones.
    Coordinators: their organisation's open referrals.

    Need to know, for an offer not yet accepted: the lawyer has no access to the case, yet must
    decide whether to take it. They see what a reviewer would accept as the minimum for that
    decision, and no more: the case reference (to speak of it with the NGO), its kind, the
    destination country and authority (whether it is in their jurisdiction and practice), the
    coordinator's message, the end date, and who referred it. Never the client's name or
    pseudonym, grounds (an "orientation" ground is itself special-category data), status,
    notes or documents: a lawyer who declines has learnt nothing about the person. Conflict
    checks that need a name are done with the NGO outside Pristan before the offer."""
    membership = membership_of(request.user)
    if _is_lawyer(request.user):
        rows = Share.objects.filter(lawyer=request.user)
    elif user_can(request.user, Capability.SHARE_CASES) and membership is not None:
        rows = Share.objects.filter(
            case__in=Case.objects.visible_to(request.user), status__in=Share.OPEN_STATUSES
        )
    else:
        raise PermissionDenied
    rows = rows.select_related("case", "case__authority", "lawyer", "created_by", "ended_by")
    audit.record(request, audit.Action.LIST, object_type="share")
    shares = list(rows[:200])
    return render(
        request,
        "casework/referral_list.html",
        {
            "offers": [s for s in shares if s.status == Share.Status.OFFERED and s.is_open],
            "active": [s for s in shares if s.is_active],
            "past": [s for s in shares if not s.is_open],
            "is_lawyer": _is_lawyer(request.user),
        },
    )


def _after(request, share: Share):
    """Where a lawyer or the NGO goes after acting on a referral."""
    if share.is_active and share.lawyer_id == request.user.pk:
        return redirect("casework:case_detail", reference=share.case.reference)
    if _is_lawyer(request.user):
        return redirect("casework:referral_list")
    return redirect("casework:case_detail", reference=share.case.reference)


@require_POST
def referral_accept(request, pk):
    share = get_referral_for_user(request.user, pk)
    if share.lawyer_id != request.user.pk:
        raise Forbidden(share)
    try:
        referrals.referral_accept(share=share, by=request.user, request=request)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("Referral accepted: the case is open to you."))
    return _after(request, share)


def referral_decline(request, pk):
    share = get_referral_for_user(request.user, pk)
    if share.lawyer_id != request.user.pk:
        raise Forbidden(share)
    return _with_reason(
        request,
        share,
        referrals.referral_decline,
        form=ReferralReasonForm(request.POST or None, required=False),
        done=_("Referral declined."),
        title=_("Decline the referral of case %(ref)s"),
        button=_("Decline"),
    )


def referral_end(request, pk):
    """End a referral (or withdraw an offer): its lawyer, or staff who may refer cases."""
    share = get_referral_for_user(request.user, pk)
    if share.lawyer_id != request.user.pk and not user_can(request.user, Capability.SHARE_CASES):
        raise Forbidden(share)
    return _with_reason(
        request,
        share,
        referrals.referral_end,
        form=ReferralReasonForm(request.POST or None),
        done=_("Referral ended: the lawyer's access has ended."),
        title=_("End the referral of case %(ref)s"),
        button=_("End the referral"),
    )


def _with_reason(request, share, step, *, form, done: str, title: str, button: str):
    """Declining or ending a referral: the page that asks why, then the step itself."""
    if request.method == "POST" and form.is_valid():
        try:
            step(share=share, reason=form.cleaned_data["reason"], by=request.user, request=request)
        except ValidationError as error:
            messages.error(request, error.messages[0])
        else:
            messages.success(request, done)
        return _after(request, share)
    audit.record(request, audit.Action.VIEW, share)
    return render(
        request,
        "casework/referral_reason.html",
        {
            "share": share,
            "form": form,
            "title": title % {"ref": share.case.reference},
            "button": button,
        },
    )
