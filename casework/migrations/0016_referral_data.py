"""Existing shares keep working as referrals: each row gets its crypto_id; a running share
stays an accepted referral with the same end date (`expires_at`); one already past its end is
marked expired. If the admin ever made two open shares of one case with one lawyer, the one
ending last stays open and the others are marked ended, so that the next migration's "one
open referral per case and lawyer" constraint holds."""

import uuid

from django.db import migrations
from django.utils import timezone


def shares_to_referrals(apps, schema_editor):
    Share = apps.get_model("casework", "Share")
    now = timezone.now()
    for share in Share.objects.all().only("pk"):
        Share.objects.filter(pk=share.pk).update(crypto_id=uuid.uuid4())
    Share.objects.filter(expires_at__lte=now).update(status="expired", ended_at=now)
    kept: set[tuple[int, int]] = set()
    for share in Share.objects.filter(status="accepted").order_by("-expires_at", "-id"):
        key = (share.case_id, share.lawyer_id)
        if key in kept:
            Share.objects.filter(pk=share.pk).update(status="ended", ended_at=now)
        kept.add(key)


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0015_share_becomes_referral"),
    ]

    operations = [
        migrations.RunPython(shares_to_referrals, migrations.RunPython.noop),
    ]
