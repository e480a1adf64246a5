"""Shares with lawyers become referrals (offered → accepted / declined → ended / expired):
the new columns. Existing rows get status "accepted"; the next migration fixes up their data,
and the one after adds the constraints.

Three migrations, because PostgreSQL refuses ALTER TABLE and CREATE INDEX in the transaction
that has just updated the rows ("pending trigger events"), and Django creates this one's
foreign-key index at its end."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import core.fields


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0014_client_person_facts"),
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
            field=core.fields.EncryptedTextField(
                blank=True, max_length=1000, verbose_name="reason"
            ),
        ),
        migrations.AddField(
            model_name="share",
            name="crypto_id",
            field=models.UUIDField(editable=False, null=True),
        ),
    ]
