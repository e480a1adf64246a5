"""Django admin's history (django_admin_log) holds ids only, and the access log has a DELETE
action for rows deleted in the admin.

Until now `__str__` of clients, their names, contacts and relatives, events, documents,
procedure references and statements returned what they hold (a legal name, an event's title),
and the admin wrote it in clear into `object_repr` of each entry and into `change_message` for
every inline row added, changed or deleted. The rows of those models now read like "Event #3";
the entries already written are rewritten the same way, and the inline rows named in the
history of clients and cases lose their names (the admin's message says "—" instead).
"""

import json

from django.db import migrations, models
from django.utils.text import capfirst

# The models whose str() held client data (see casework.models.numbered).
MODELS = [
    "client",
    "clientname",
    "contactchannel",
    "relative",
    "casereference",
    "casestatement",
    "event",
    "document",
]
# Models whose admin pages have inlines of those: their entries name the inline rows.
PARENTS = ["client", "case"]
REDACTED = "—"


def _redacted_message(message: str) -> str:
    try:
        parts = json.loads(message)
    except ValueError:
        return ""  # free text (from before Django wrote JSON) may say anything
    if not isinstance(parts, list):
        return ""
    for part in parts:
        for detail in part.values() if isinstance(part, dict) else ():
            if isinstance(detail, dict) and "object" in detail:
                detail["object"] = REDACTED
    return json.dumps(parts)


def rewrite_admin_log(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    LogEntry = apps.get_model("admin", "LogEntry")
    for content_type in ContentType.objects.filter(app_label="casework", model__in=MODELS):
        verbose_name = capfirst(apps.get_model("casework", content_type.model)._meta.verbose_name)
        entries = LogEntry.objects.filter(content_type=content_type).only("object_id")
        for entry in entries.iterator(chunk_size=1000):
            entry.object_repr = f"{verbose_name} #{entry.object_id}"[:200]
            entry.save(update_fields=["object_repr"])
    parents = ContentType.objects.filter(app_label="casework", model__in=PARENTS)
    entries = LogEntry.objects.filter(content_type__in=parents).exclude(change_message="")
    for entry in entries.only("change_message").iterator(chunk_size=1000):
        entry.change_message = _redacted_message(entry.change_message)
        entry.save(update_fields=["change_message"])


class Migration(migrations.Migration):
    dependencies = [
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("casework", "0008_organisation_scope"),
    ]

    operations = [
        migrations.AlterField(
            model_name="accessevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("view", "Viewed"),
                    ("list", "Listed"),
                    ("search", "Searched"),
                    ("download", "Downloaded"),
                    ("export", "Exported"),
                    ("create", "Created"),
                    ("change", "Changed"),
                    ("issue", "Issued a letter"),
                    ("reveal", "Revealed special-category data"),
                    ("login", "Logged in"),
                    ("login_failed", "Failed login"),
                    ("logout", "Logged out"),
                    ("denied", "Permission denied"),
                    ("lockdown", "Lockdown"),
                    ("erase", "Erased"),
                    ("security", "Security change"),
                    ("delete", "Deleted"),
                ],
                max_length=20,
            ),
        ),
        migrations.RunPython(rewrite_admin_log, migrations.RunPython.noop),
    ]
