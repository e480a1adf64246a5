import csv
import hashlib
import io
import zipfile

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from casework import audit
from casework.access import OutOfScope, capability_required, get_case_for_user, user_can
from casework.capabilities import Capability
from casework.filters import CaseFilter
from casework.models import Case
from core.pagination import CappedPaginator
from letters import selectors, services
from letters.access import get_batch_for_user, get_letter_for_user
from letters.forms import (
    BatchForm,
    LetterNewForm,
    LetterTextForm,
    RegisterFilterForm,
    RevokeForm,
    VerifyUploadForm,
)
from letters.models import Letter
from letters.rendering import html_to_pdf, letter_html, verification_url


def _action(request, letter_id, capability, act, success_message, *, logged_as=None):
    """The shape of every letter button: fetch through the scope, act, log it, say what
    happened. A refused action (ValidationError) changed nothing and is not logged."""
    letter = get_letter_for_user(request.user, letter_id, capability=capability)
    try:
        act(letter)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        audit.record(request, logged_as or audit.Action.CHANGE, letter)
        messages.success(request, success_message(letter))
    return redirect("letters:letter_detail", letter_id=letter.pk)


def letter_new(request, reference):
    case = get_case_for_user(request.user, reference, capability=Capability.DRAFT_LETTERS)
    form = LetterNewForm(request.POST or None, case=case)
    if request.method == "POST" and form.is_valid():
        try:
            letter = services.letter_draft(
                case=case,
                template=form.cleaned_data["template"],
                authority=form.cleaned_data["authority"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            audit.record(request, audit.Action.CREATE, letter)
            messages.success(
                request, _("Draft created. Check the text, then submit it for review.")
            )
            return redirect("letters:letter_detail", letter_id=letter.pk)
    audit.record(request, audit.Action.VIEW, case)
    return render(request, "letters/letter_new.html", {"case": case, "form": form})


def letter_detail(request, letter_id):
    letter = get_letter_for_user(request.user, letter_id)
    form = None
    if letter.is_editable and user_can(request.user, Capability.DRAFT_LETTERS):
        form = LetterTextForm(request.POST or None, instance=letter)
        if request.method == "POST" and form.is_valid():
            try:
                services.letter_update_text(
                    letter=letter,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    by=request.user,
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                audit.record(request, audit.Action.CHANGE, letter)
                messages.success(request, _("Text saved."))
            return redirect("letters:letter_detail", letter_id=letter.pk)
    elif request.method == "POST":
        raise PermissionDenied
    context = {
        "letter": letter,
        "case": letter.case,
        "form": form,
        "revoke_form": RevokeForm(),
        "verification_url": verification_url(letter) if letter.number else "",
    }
    if request.htmx and request.GET.get("fragment") == "render":
        # The rendering progress poll (every 2 s) shows no letter content: not logged.
        return render(request, "letters/letter_detail.html#render_status", context)
    audit.record(request, audit.Action.VIEW, letter)
    return render(request, "letters/letter_detail.html", context)


def letter_preview(request, letter_id):
    """The letter as it will be printed (same HTML as the PDF), on a screen-sized sheet."""
    letter = get_letter_for_user(request.user, letter_id)
    audit.record(request, audit.Action.VIEW, letter)
    html = letter_html(letter, draft=letter.status != Letter.Status.ISSUED)
    html = html.replace(
        "</head>", f'<link rel="stylesheet" href="{static("letters/print.css")}"></head>', 1
    )
    return HttpResponse(html)


def letter_preview_pdf(request, letter_id):
    """A draft PDF made on the spot, marked as a draft, never stored."""
    letter = get_letter_for_user(request.user, letter_id)
    if not letter.is_editable and letter.status != Letter.Status.APPROVED:
        raise Http404
    audit.record(request, audit.Action.VIEW, letter)
    pdf = html_to_pdf(letter_html(letter, draft=True), archival=False)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="draft.pdf"'
    return response


@require_POST
def letter_submit(request, letter_id):
    return _action(
        request,
        letter_id,
        Capability.DRAFT_LETTERS,
        lambda letter: services.letter_submit(letter=letter, by=request.user),
        lambda letter: _("Submitted for review."),
    )


@require_POST
def letter_approve(request, letter_id):
    return _action(
        request,
        letter_id,
        Capability.APPROVE_LETTERS,
        lambda letter: services.letter_approve(letter=letter, by=request.user),
        lambda letter: _("Letter approved. It can now be issued."),
    )


@require_POST
def letter_return(request, letter_id):
    return _action(
        request,
        letter_id,
        Capability.DRAFT_LETTERS,
        lambda letter: services.letter_return_to_draft(letter=letter, by=request.user),
        lambda letter: _("The letter is a draft again."),
    )


@require_POST
def letter_issue(request, letter_id):
    issued = []

    def issue(letter):
        issued.append(services.letters_issue(letters=[letter], by=request.user))

    def success_message(letter):
        if issued[0].render_queued is not False:
            return _("Letter issued. The PDF is being made.")
        # The number is committed; only the message to the worker did not go out.
        return _(
            "Letter issued as %(number)s. The queue that makes PDFs is not answering just now: "
            "the PDF will be made automatically when it is back."
        ) % {"number": issued[0].letters[0].number}

    return _action(
        request,
        letter_id,
        Capability.ISSUE_LETTERS,
        issue,
        success_message,
        logged_as=audit.Action.ISSUE,
    )


@require_POST
def letter_revoke(request, letter_id):
    form = RevokeForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _action(
        request,
        letter_id,
        Capability.ISSUE_LETTERS,
        lambda letter: services.letter_revoke(letter=letter, reason=reason, by=request.user),
        lambda letter: (
            _("Letter %(number)s revoked. Its verification page now says so.")
            % {"number": letter.number}
        ),
    )


@require_POST
def letter_retry(request, letter_id):
    return _action(
        request,
        letter_id,
        Capability.ISSUE_LETTERS,
        lambda letter: services.letter_retry_render(letter=letter),
        lambda letter: _("Rendering started again."),
    )


def letter_download(request, letter_id):
    letter = get_letter_for_user(request.user, letter_id)
    if not user_can(request.user, Capability.VIEW_DOCUMENTS):
        raise OutOfScope("letter", letter.pk, case_id=letter.case_id)
    if letter.render_status != Letter.RenderStatus.READY or not letter.pdf:
        raise Http404
    services.letters_downloaded(letters=[letter], by=request.user)
    audit.record(request, audit.Action.DOWNLOAD, letter)
    filename = f"letter-{letter.number.replace('/', '-')}.pdf"
    return FileResponse(
        letter.pdf.open("rb"), as_attachment=True, filename=filename, content_type="application/pdf"
    )


@capability_required(Capability.VIEW_REGISTER)
def register(request):
    form = RegisterFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    letters = selectors.register_letters(
        request.user, year=filters.get("year"), authority=filters.get("authority")
    )
    exporting = request.GET.get("format") == "csv"
    action = audit.Action.EXPORT if exporting else audit.Action.LIST
    audit.record(request, action, object_type="letter")
    if exporting:
        return _register_csv(letters.iterator())
    page = CappedPaginator(letters, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "letters/register.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


def _register_csv(letters) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="register.csv"'
    _write_register(response, letters)
    return response


def _write_register(out, letters) -> None:
    writer = csv.writer(out)
    writer.writerow(selectors.REGISTER_COLUMNS)
    writer.writerows(selectors.register_rows(letters))


# Batches ------------------------------------------------------------------------------------


@capability_required(Capability.RUN_BATCHES)
def batch_new(request):
    """From the case list's current filters (posted, never in the URL): how many letters,
    which template, then start."""
    membership = request.user.membership
    filters = request.GET.copy()
    filters.update(request.POST)
    cases = Case.objects.visible_to(request.user)
    case_filter = CaseFilter(filters, queryset=cases, organisation=membership.organisation)
    selected = case_filter.qs.order_by("reference")
    count = selected.count()
    starting = request.method == "POST" and "start" in request.POST
    form = BatchForm(request.POST if starting else None, prefix="batch")
    if starting and form.is_valid():
        try:
            batch, queued = services.batch_start(
                organisation=membership.organisation,
                template=form.cleaned_data["template"],
                authority=form.cleaned_data["authority"],
                case_ids=list(selected.values_list("pk", flat=True)[: services.BATCH_MAX + 1]),
                by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            audit.record(request, audit.Action.CREATE, batch)
            count = len(batch.case_ids)
            if queued:
                messages.success(
                    request,
                    ngettext(
                        "Batch started: %(count)s letter will be issued and rendered.",
                        "Batch started: %(count)s letters will be issued and rendered.",
                        count,
                    )
                    % {"count": count},
                )
            else:  # saved; the sweep sends it again (services.batches_requeue_stuck)
                messages.warning(
                    request,
                    ngettext(
                        "Batch saved: %(count)s letter. The queue is not answering just now: "
                        "the letter will be issued and rendered automatically when it is back.",
                        "Batch saved: %(count)s letters. The queue is not answering just now: "
                        "they will be issued and rendered automatically when it is back.",
                        count,
                    )
                    % {"count": count},
                )
            return redirect("letters:batch_detail", batch_id=batch.pk)
    audit.record(request, audit.Action.LIST, object_type="case")
    return render(
        request,
        "letters/batch_new.html",
        {
            "form": form,
            "count": count,
            "sample": selected.select_related("client")[:10],
            "filter_items": [
                (key, filters.getlist(key))
                for key in case_filter.filters
                if filters.getlist(key) and any(filters.getlist(key))
            ],
        },
    )


def batch_detail(request, batch_id):
    batch = get_batch_for_user(request.user, batch_id)
    context = {
        "batch": batch,
        "progress": selectors.batch_progress(batch),
        "failed_letters": selectors.batch_failed_letters(batch)[:50],
    }
    if request.htmx:
        # The progress poll shows counts only: not logged.
        return render(request, "letters/batch_detail.html#progress", context)
    audit.record(request, audit.Action.VIEW, batch)
    return render(request, "letters/batch_detail.html", context)


def batch_zip(request, batch_id):
    batch = get_batch_for_user(request.user, batch_id)
    letters = list(selectors.batch_letters(request.user, batch, ready=True))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for letter in letters:
            with letter.pdf.open("rb") as f:
                archive.writestr(f"letter-{letter.number.replace('/', '-')}.pdf", f.read())
        register = io.StringIO()
        _write_register(register, letters)
        archive.writestr("register.csv", register.getvalue())
    services.letters_downloaded(letters=letters, by=request.user)
    audit.record(request, audit.Action.EXPORT, batch)
    buffer.seek(0)
    return FileResponse(
        buffer, as_attachment=True, filename=f"batch-{batch.pk}.zip", content_type="application/zip"
    )


def batch_csv(request, batch_id):
    batch = get_batch_for_user(request.user, batch_id)
    letters = selectors.batch_letters(request.user, batch, ready=False)
    audit.record(request, audit.Action.EXPORT, batch)
    return _register_csv(letters)


# Public verification --------------------------------------------------------------------------

VERIFY_RATE = 30  # requests per minute and address


def _rate_limited(request) -> bool:
    key = f"verify-rate:{request.META.get('REMOTE_ADDR', '')}:{timezone.now():%Y%m%d%H%M}"
    cache.add(key, 0, timeout=120)
    try:
        return cache.incr(key) > VERIFY_RATE
    except ValueError:
        return False


@login_not_required
def verify(request, token):
    """The page printed on every letter (QR code). Stable forever: /v/<token>/.

    It shows the register facts of the letter and nothing about the person; an unknown token
    gets the same page with "not found", so tokens cannot be told apart by the answer's shape."""
    if _rate_limited(request):
        return _verify_response(request, {"rate_limited": True}, status=429)
    letter = (
        Letter.objects.filter(
            verification_token=token, status__in=[Letter.Status.ISSUED, Letter.Status.REVOKED]
        )
        .select_related("case__organisation", "authority")
        .first()
    )
    form = VerifyUploadForm(request.POST or None, request.FILES or None)
    match = None
    if letter and request.method == "POST" and form.is_valid():
        digest = hashlib.sha256()
        for chunk in form.cleaned_data["pdf"].chunks():
            digest.update(chunk)
        match = letter.render_status == Letter.RenderStatus.READY and (
            digest.hexdigest() == letter.pdf_sha256
        )
    return _verify_response(
        request,
        {"letter": letter, "form": form, "match": match, "token_url": request.path},
        status=200 if letter else 404,
    )


def _verify_response(request, context, *, status):
    response = render(request, "letters/verify.html", context, status=status)
    response["X-Robots-Tag"] = "noindex"
    # same-origin, not no-referrer: with no-referrer the browser posts the compare form with
    # "Origin: null", which Django's CSRF protection rightly refuses.
    response["Referrer-Policy"] = "same-origin"
    return response
