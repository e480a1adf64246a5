"""Demo data: one fictional organisation, one login per role and about forty fictional cases.

    python manage.py seed_demo [--password P]

What is made and how: demo.builders; the fixed tables: demo.data.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from casework.models import Event
from demo.builders import DemoBuilder, DemoError
from demo.data import ORGANISATION


class Command(BaseCommand):
    help = "Create a fictional demo organisation, one login per role and about 40 demo cases."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            help="Set this password for every demo user (also for users that already exist). "
            "Without it, new users get one random password, printed at the end, and existing "
            "users keep theirs.",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even though DEBUG is off. The demo creates a superuser 'admin' with a "
            "known password: never do this on a server that holds real cases.",
        )

    def handle(self, *args, password=None, allow_production=False, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "seed_demo creates demo logins, one of them a superuser: it only runs with "
                "DJANGO_DEBUG=1 (as `make run` sets), or with --allow-production."
            )
        if password is not None:
            try:
                validate_password(password)
            except ValidationError as e:
                self.stderr.write(
                    self.style.WARNING("Warning: weak demo password: " + " ".join(e.messages))
                )
        builder = DemoBuilder()
        before = builder.counts()
        try:
            rows, generated, existing_cases = builder.build(password=password)
        except DemoError as error:
            raise CommandError(str(error)) from None
        self._report(builder, rows, generated, password, existing_cases, before, builder.counts())

    def _report(self, builder, rows, generated, password, existing_cases, before, after):
        w = self.stdout.write
        # Where `make run` serves it, which is also the address its letters print.
        w(self.style.SUCCESS(f"Pristan demo: {settings.PRISTAN_PUBLIC_URL}/"))
        w("")
        width = max(len(r[0]) for r in rows)
        role_width = max(len(r[1]) for r in rows)
        w(f"  {'username':<{width}}  {'role':<{role_width}}  password")
        w(f"  {'-' * width}  {'-' * role_width}  {'-' * 16}")
        for username, role, shown, _created in rows:
            w(f"  {username:<{width}}  {role:<{role_width}}  {shown}")
        w("")
        if password is not None:
            w("The password given with --password was set for every demo user.")
        elif generated:
            w(f"New demo users share this generated password: {generated}")
        if password is None and any(not created for *_, created in rows):
            w("Existing demo users kept their passwords (use --password to reset them).")
        if existing_cases:
            w(f"The demo organisation already has {existing_cases} cases: none were created.")
        w("")
        w("Two-factor login: every demo user needs a code after the password. Add the user's")
        w("otpauth:// URI below to an authenticator app (Aegis, FreeOTP, 2FAS… can add one by")
        w("URI or by a QR code made from it), or print the current code with")
        w("`.venv/bin/python manage.py demo_totp USERNAME` (DEBUG only). A recovery code works")
        w("once.")
        for username, (uri, codes) in builder.second_factors.items():
            w(f"  {username}")
            w(f"    {uri}")
            if codes:
                w(f"    recovery codes: {'  '.join(codes)}")
            else:
                w("    recovery codes: as printed when they were made (only hashes are kept)")
        if password is None and builder.second_factors_kept:
            w("Existing authenticators and recovery codes were kept (--password makes new ones).")
        w("")
        w("Created:")
        for label, _model in builder.COUNTED:
            w(f"  {label:<17} {after[label] - before[label]:>5}")
        if not existing_cases:
            events = Event.objects.filter(case__organisation__name=ORGANISATION["name"])
            soon = events.filter(
                done=False, date__gte=builder.today, date__lte=builder.today + timedelta(days=14)
            ).count()
            overdue = events.filter(done=False, is_deadline=True, date__lt=builder.today).count()
            w(f"  ({soon} events in the next 14 days, {overdue} overdue deadlines)")
