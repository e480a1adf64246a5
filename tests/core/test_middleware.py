"""Headers and limits every response and request gets: Permissions-Policy, and a request body
refused from its announced size before anything reads it."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from casework.models import Document

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.mark.django_db
def test_permissions_policy_is_on_every_response(client, caseworker, case):
    anonymous = [
        client.get(reverse("login")),
        client.get("/no-such-page/"),
        client.get(reverse("verify", kwargs={"token": "NOSUCHTOKEN"})),
        client.get("/health/"),
        client.get(reverse("casework:case_list")),  # the redirect to the login
    ]
    client.force_login(caseworker)
    signed_in = [
        client.get(reverse("casework:case_list")),
        client.get(reverse("casework:case_detail", args=[case.reference])),
    ]

    for response in anonymous + signed_in:
        policy = response["Permissions-Policy"]
        for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert f"{feature}=()" in policy, (response.status_code, policy)


def _post_announcing(client, url, size, data=b"x" * 100):
    """A POST whose Content-Length says `size` while its body is only `data`: Django's test
    input refuses to read past `data`, so a 413 proves nothing tried to read the body."""
    return client.generic(
        "POST",
        url,
        data,
        content_type="multipart/form-data; boundary=BoUnDaRy",
        CONTENT_LENGTH=str(size),
    )


@pytest.mark.django_db
def test_a_body_over_the_limit_is_refused_before_it_is_read(client, caseworker, case):
    caseworker.language = "ru"
    caseworker.save()
    client.force_login(caseworker)
    url = reverse("casework:document_upload", args=[case.reference])

    with translation.override("en"):  # the user's Russian must not outlive the request
        response = _post_announcing(client, url, settings.PRISTAN_REQUEST_MAX_BYTES + 1)

    assert response.status_code == 413
    assert "Слишком большой файл" in response.content.decode()
    assert not Document.objects.exists()
    assert client.get(reverse("casework:case_detail", args=[case.reference])).status_code == 200


def test_the_public_pages_refuse_it_too(db):
    response = _post_announcing(Client(), reverse("login"), settings.PRISTAN_REQUEST_MAX_BYTES + 1)

    assert response.status_code == 413


def test_the_limit_leaves_room_for_the_largest_document_and_keeps_uploads_in_memory():
    assert settings.PRISTAN_REQUEST_MAX_BYTES > settings.DOCUMENT_MAX_BYTES
    # Every accepted upload is held in memory: none spills in clear into a temporary file.
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE >= settings.PRISTAN_REQUEST_MAX_BYTES


@pytest.mark.django_db
def test_an_upload_within_the_limit_still_works(client, caseworker, case):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(caseworker)

    response = client.post(
        reverse("casework:document_upload", args=[case.reference]),
        {"kind": "evidence", "title": "Scan", "upload": SimpleUploadedFile("scan.pdf", PDF)},
    )

    assert response.status_code == 302
    assert Document.objects.count() == 1
