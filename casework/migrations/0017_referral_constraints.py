"""Referrals, after their data migration (0015): each row's crypto_id is unique, new
referrals start as offers, and a case has at most one open referral per lawyer."""

import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0016_referral_data"),
    ]

    operations = [
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
