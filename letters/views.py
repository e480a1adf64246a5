import hashlib
import io
import zipfile

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views.decorators.http import require_POST

from casework import audit
from casework.access import OutOfScope, capability_required, get_case_for_user, user_can
from casework.capabilities import Capability
from casework.filters import CaseFilter
from casework.models import Case
from core import csv_export, ratelimit
from core.pagination import CappedPaginator
from letters import selectors, services
from letters.access import (
    get_batch_for_user,
    get_letter_for_user,
    get_letters_for_batch,
    get_paragraph_for_letter,
)
from letters.checks import letter_problems
from letters.forms import (
    BatchForm,
    LetterNewForm,
    LetterTextForm,
    RegisterFilterForm,
    RevokeForm,
    VerifyBirthDateForm,
    VerifyTokenForm,
    VerifyUploadForm,
)
from letters.models import Batch, Letter, normalise_token
from letters.rendering import fill_markers, html_to_pdf, letter_html, verification_url


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


# The letter page lists what stops these from being issued (letters.checks).
_CHECKED = (Letter.Status.DRAFT, Letter.Status.IN_REVIEW, Letter.Status.APPROVED)


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
                    facts=form.cleaned_data["facts"],
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
        "paragraphs": selectors.paragraphs_for_letter(letter) if form else [],
        # The approve button posts the hash of the text shown here (the two-person rule).
        "text_hash": letter.text_hash,
        "edited_last": (
            settings.LETTERS_TWO_PERSON_RULE and letter.last_editor_id == request.user.pk
        ),
        "revoke_form": RevokeForm(),
        "printed": fill_markers(letter) if form is None else [],
        "problems": letter_problems(letter) if letter.status in _CHECKED else [],
        "signers": (
            selectors.signers_for(letter) if letter.status == Letter.Status.IN_REVIEW else []
        ),
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
    def approve(letter):
        signer = None
        if request.POST.get("signer"):
            signer = next(
                (s for s in selectors.signers_for(letter) if str(s.pk) == request.POST["signer"]),
                None,
            )
            if signer is None:
                raise ValidationError(_("Choose who signs the letter from the list."))
        services.letter_approve(
            letter=letter,
            by=request.user,
            text_hash=request.POST.get("text_hash", ""),
            signer=signer,
        )

    return _action(
        request,
        letter_id,
        Capability.APPROVE_LETTERS,
        approve,
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
def letter_correct(request, letter_id):
    """An issued letter that needs correcting: a new draft with its text, which replaces it
    once issued (the old verification page then names the new letter)."""
    letter = get_letter_for_user(request.user, letter_id, capability=Capability.DRAFT_LETTERS)
    try:
        correction = services.letter_correct(letter=letter, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("letters:letter_detail", letter_id=letter.pk)
    audit.record(request, audit.Action.CREATE, correction)
    messages.success(
        request,
        _("Corrected draft created. Issuing it revokes letter %(number)s, which it replaces.")
        % {"number": letter.number},
    )
    return redirect("letters:letter_detail", letter_id=correction.pk)


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
    form = RegisterFilterForm(
        request.GET or None, organisation_id=request.user.membership.organisation_id
    )
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


@capability_required(Capability.APPROVE_LETTERS)
def review_queue(request):
    """The letters waiting for review in the organisation, oldest first."""
    letters = selectors.letters_in_review(request.user)
    audit.record(request, audit.Action.LIST, object_type="letter")
    page = CappedPaginator(letters, 50).get_page(request.GET.get("page"))
    return render(request, "letters/review_queue.html", {"page": page, "query": ""})


@capability_required(Capability.RUN_BATCHES)
def approved_letters(request):
    """Approved letters waiting to be issued, with boxes to issue a selection as one batch."""
    letters = selectors.letters_approved(request.user)
    audit.record(request, audit.Action.LIST, object_type="letter")
    page = CappedPaginator(letters, 100).get_page(request.GET.get("page"))
    return render(request, "letters/approved_letters.html", {"page": page, "query": ""})


@require_POST
@capability_required(Capability.RUN_BATCHES)
def batch_approved_new(request):
    """Issue the approved letters ticked on the list as one batch (numbered together, one ZIP)."""
    ids = [int(x) for x in request.POST.getlist("letter") if x.isdigit()]
    letters = get_letters_for_batch(request.user, ids)
    if not letters:
        messages.error(request, _("Choose at least one approved letter."))
        return redirect("letters:approved_letters")
    try:
        result = services.batch_issue_approved(
            organisation=request.user.membership.organisation, letters=letters, by=request.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("letters:approved_letters")
    refused = [
        _("%(reference)s: %(reason)s") % {"reference": letter.case.reference, "reason": reason}
        for letter, reason in result.refused
    ]
    if result.batch is None:
        messages.error(
            request, _("Nothing was issued. Refused: %(list)s.") % {"list": "; ".join(refused)}
        )
        return redirect("letters:approved_letters")
    # One entry for the batch (its letters are in the register and in their cases' history).
    audit.record(request, audit.Action.ISSUE, result.batch)
    count = len(result.batch.case_ids)
    messages.success(
        request,
        ngettext(
            "%(count)s letter issued in this batch. The PDFs are being made.",
            "%(count)s letters issued in this batch. The PDFs are being made.",
            count,
        )
        % {"count": count},
    )
    if refused:
        messages.warning(
            request,
            _("Not issued: %(list)s. They were left as they were.") % {"list": "; ".join(refused)},
        )
    return redirect("letters:batch_detail", batch_id=result.batch.pk)


def _register_csv(letters) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="register.csv"'
    _write_register(response, letters)
    return response


def _write_register(out, letters) -> None:
    writer = csv_export.writer(out)
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
    form = BatchForm(
        request.POST if starting else None,
        prefix="batch",
        organisation_id=membership.organisation_id,
    )
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
        "cases": (
            selectors.batch_cases(batch)[:100]
            if batch.status == Batch.Status.AWAITING_APPROVAL
            else []
        ),
    }
    if request.htmx:
        # The progress poll shows counts only: not logged.
        return render(request, "letters/batch_detail.html#progress", context)
    audit.record(request, audit.Action.VIEW, batch)
    return render(request, "letters/batch_detail.html", context)


@require_POST
def batch_approve(request, batch_id):
    """A second coordinator (or an administrator) approves a template batch; it is prepared."""
    batch = get_batch_for_user(request.user, batch_id, capability=Capability.APPROVE_LETTERS)
    try:
        queued = services.batch_approve(batch=batch, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        audit.record(request, audit.Action.CHANGE, batch)
        if queued:
            messages.success(
                request, _("Batch approved: its letters are being issued and rendered.")
            )
        else:
            messages.warning(
                request,
                _(
                    "Batch approved. The queue is not answering just now: the letters will be "
                    "issued and rendered automatically when it is back."
                ),
            )
    return redirect("letters:batch_detail", batch_id=batch.pk)


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
VERIFY_BIRTH_DATE_RATE = 5  # date-of-birth checks per minute and address, on top


def _rate_limited(request, *, scope: str = "verify", limit: int = VERIFY_RATE) -> bool:
    return ratelimit.over_limit(request, scope=scope, limit=limit, window=60)


# The statuses a verification page answers for; anything else is "not found".
VERIFIABLE = [Letter.Status.ISSUED, Letter.Status.REVOKED]


def _letter_for_token(token: str) -> Letter | None:
    """The letter of a token as printed or as typed from paper.

    One query whatever the token: the exact string (old urlsafe tokens are case-sensitive and
    may contain "-" and "_") and its normalised Crockford form, the exact one preferred."""
    candidates = {token[:200], normalise_token(token)} - {None}
    letters = {
        letter.verification_token: letter
        for letter in Letter.objects.filter(
            verification_token__in=candidates, status__in=VERIFIABLE
        ).select_related("case__organisation", "case__client", "authority")
    }
    return letters.get(token) or letters.get(normalise_token(token) or "")


def _verify_language(request) -> str:
    """The page's language: ?lang= (the switch), else the browser's first letter language,
    else English. Any letter language, although the staff interface itself is only ru/en."""
    codes = [code for code, _name in settings.LETTER_LANGUAGES]
    if request.GET.get("lang") in codes:
        return request.GET["lang"]
    accept = request.headers.get("Accept-Language", "")
    for code, _quality in parse_accept_lang_header(accept[:500]):
        if code.split("-")[0] in codes:
            return code.split("-")[0]
    return settings.LANGUAGE_CODE


@login_not_required
def verify(request, token):
    """The page printed on every letter (QR code). Stable forever: /v/<token>/.

    It shows the register facts of the letter and nothing about the person; an unknown token
    gets the same page with "not found", so tokens cannot be told apart by the answer's shape."""
    if _rate_limited(request):
        return _verify_response(request, {"rate_limited": True}, status=429)
    letter = _letter_for_token(token)
    replacement = (
        letter and letter.replacements.filter(status__in=VERIFIABLE).order_by("issued_at").last()
    )
    valid = letter and letter.status == Letter.Status.ISSUED and not replacement
    # A date of birth is checked only against a valid letter, and only if one is on record.
    birth_date = valid and letter.case.client.birth_date
    checking_birth_date = request.method == "POST" and "birth_date" in request.POST
    upload_form = VerifyUploadForm(
        None if checking_birth_date else request.POST or None, request.FILES or None
    )
    birth_date_form = VerifyBirthDateForm(request.POST if checking_birth_date else None)
    match = birth_date_match = None
    if letter and upload_form.is_valid():
        match = _is_issued_pdf(letter, upload_form.cleaned_data["pdf"])
    if birth_date and checking_birth_date:
        if _rate_limited(request, scope="verify-dob", limit=VERIFY_BIRTH_DATE_RATE):
            return _verify_response(request, {"rate_limited": True}, status=429)
        if birth_date_form.is_valid():
            birth_date_match = birth_date_form.cleaned_data["birth_date"] == birth_date
            birth_date_form = VerifyBirthDateForm()  # the page never repeats a date
    context = {
        "letter": letter,
        "replacement": replacement,
        "form": upload_form,
        "match": match,
        "birth_date_form": birth_date_form if birth_date else None,
        "birth_date_match": birth_date_match,
        "token_form": VerifyTokenForm(),
        "token_url": letter and reverse("verify", kwargs={"token": letter.verification_token}),
    }
    return _verify_response(request, context, status=200 if letter else 404)


def _is_issued_pdf(letter: Letter, upload) -> bool:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    return letter.render_status == Letter.RenderStatus.READY and (
        digest.hexdigest() == letter.pdf_sha256
    )


@login_not_required
def verify_code(request):
    """/v/: the officer types the code printed on a letter; sent on to /v/<code>/."""
    form = VerifyTokenForm(request.GET if "token" in request.GET else None)
    if form.is_valid():
        typed = form.cleaned_data["token"]
        # The whole printed address pasted in: keep the part after /v/.
        typed = typed.rsplit("/v/", 1)[-1].strip("/ ")
        # Spaces go (no token has any); dashes stay, old tokens may contain them.
        token = "".join(typed.replace("/", " ").split()) or "-"
        url = reverse("verify", kwargs={"token": token})
        if request.GET.get("lang") in dict(settings.LETTER_LANGUAGES):
            url += "?" + urlencode({"lang": request.GET["lang"]})
        return redirect(url)
    context = {"token_form": form, "enter_code": True}
    return _verify_response(request, context, status=200)


def _verify_response(request, context, *, status):
    language = _verify_language(request)
    context["page_languages"] = settings.LETTER_LANGUAGES
    if context.get("letter"):
        context["issuer"] = selectors.issuer_name(context["letter"], language)
    with translation.override(language):
        response = render(request, "letters/verify.html", context, status=status)
    response["Content-Language"] = language
    response["X-Robots-Tag"] = "noindex"
    # same-origin, not no-referrer: with no-referrer the browser posts the compare form with
    # "Origin: null", which Django's CSRF protection rightly refuses.
    response["Referrer-Policy"] = "same-origin"
    return response


@require_POST
def letter_insert_paragraph(request, letter_id, paragraph_id):
    """Append a library paragraph to the draft's facts (an edit: the two-person rule holds)."""
    letter = get_letter_for_user(request.user, letter_id, capability=Capability.DRAFT_LETTERS)
    paragraph = get_paragraph_for_letter(letter, paragraph_id)
    try:
        services.letter_insert_paragraph(letter=letter, paragraph=paragraph, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        audit.record(request, audit.Action.CHANGE, letter)
        messages.success(
            request,
            _("“%(title)s” was added at the end of the facts. Check how it reads.")
            % {"title": paragraph.title},
        )
    return redirect(reverse("letters:letter_detail", args=[letter.pk]) + "#id_facts")
