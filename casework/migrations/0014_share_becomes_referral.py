"""Shares with lawyers become referrals: offered → accepted / declined → ended / expired.

Every existing share keeps working: it becomes an accepted referral with the same end date
(`expires_at`); one already past its end is marked expired. If the admin ever made two shares
of one case with one lawyer, the one ending last stays open and the others are marked ended, so
that the new "one open referral per case and lawyer" constraint holds."""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

import core.fields


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
        ("casework", "0013_spreadsheet_import_duplicate_alert"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Existing rows are accepted shares; new referrals start as offers (below).
        migrations.AddField(
            model_name="share",
            name="status",
            field=models.CharField(
                choices=[
                    ("offered", "Offered"),
                    ("accepted", "Accepted"),
                    ("declined", "Declined"),
                    ("ended", "Ended"),
                    ("expired", "Expired"),
                ],
                default="accepted",
                max_length=10,
                verbose_name="status",
            ),
        ),
        migrations.AddField(
            model_name="share",
            name="message",
            field=core.fields.EncryptedTextField(
                blank=True, max_length=2000, verbose_name="message to the lawyer"
            ),
        ),
        migrations.AddField(
            model_name="share",
            name="responded_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="answered at"),
        ),
        migrations.AddField(
            model_name="share",
            name="ended_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="ended at"),
        ),
        migrations.AddField(
            model_name="share",
            name="ended_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="ended by",
            ),
        ),
        migrations.AddField(
            model_name="share",
            name="reason",
            field=core.fields.EncryptedTextField(blank=True, max_length=1000, verbose_name="reason"),
        ),
        migrations.AddField(
            model_name="share",
            name="crypto_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(shares_to_referrals, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="share",
            name="crypto_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="share",
            name="status",
            field=models.CharField(
                choices=[
                    ("offered", "Offered"),
                    ("accepted", "Accepted"),
                    ("declined", "Declined"),
                    ("ended", "Ended"),
                    ("expired", "Expired"),
                ],
                default="offered",
                max_length=10,
                verbose_name="status",
            ),
        ),
        migrations.AlterField(
            model_name="share",
            name="expires_at",
            field=models.DateTimeField(verbose_name="ends"),
        ),
        migrations.AlterModelOptions(
            name="share",
            options={
                "ordering": ["-created_at", "-id"],
                "verbose_name": "referral to a lawyer",
                "verbose_name_plural": "referrals to lawyers",
            },
        ),
        migrations.AddConstraint(
            model_name="share",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["offered", "accepted"])),
                fields=("case", "lawyer"),
                name="one_open_referral_per_case_and_lawyer",
            ),
        ),
        migrations.AlterField(
            model_name="caselogentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("created", "Case opened"),
                    ("updated", "Case edited"),
                    ("client_updated", "Client details edited"),
                    ("status", "Status changed"),
                    ("assigned", "Assigned"),
                    ("unassigned", "Unassigned"),
                    ("shared", "Shared with a lawyer"),
                    ("referral", "Referral to a lawyer"),
                    ("relative", "Relative added"),
                    ("event", "Event added"),
                    ("event_done", "Event marked done"),
                    ("note", "Note added"),
                    ("document", "Document uploaded"),
                    ("downloaded", "Document downloaded"),
                    ("consent", "Consent recorded"),
                    ("letter", "Letter"),
                    ("reference", "Procedure reference"),
                    ("statement", "Statement for letters"),
                    ("event_changed", "Event changed"),
                    ("event_deleted", "Event deleted"),
                    ("checklist", "Checklist"),
                ],
                max_length=20,
            ),
        ),
    ]
