"""Bulk fictional data for benchmarks (demo.bulk).

    python manage.py seed_bulk --cases 100000 [--caseworkers 50] [--volunteers 5]
                               [--password P] [--pdfs 10] [--allow-production]

Adds the cases to the demo organisation (created when missing), with a coordinator, caseworkers
and volunteers of their own (`bulk-coordinator`, `bulk-caseworker-001`…, `bulk-volunteer-01`…):
every case is assigned to one caseworker, one in ten also to a volunteer. Each run adds cases;
users are fetched or created. Everything is invented.
"""

import logging
import secrets
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo import bulk


class Command(BaseCommand):
    help = "Add many fictional cases (clients, names, relatives, events, notes, letters)."

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, required=True, help="How many cases to add.")
        parser.add_argument("--caseworkers", type=int, default=50)
        parser.add_argument("--volunteers", type=int, default=5)
        parser.add_argument(
            "--password",
            help="Password of the bulk users (also resets existing ones). Without it, new users "
            "get one generated password, printed at the end.",
        )
        parser.add_argument("--years", type=int, default=3, help="Cases spread over this many.")
        parser.add_argument("--pdfs", type=int, default=10, help="Issued letters to render.")
        parser.add_argument("--seed", type=int, help="Random seed (default: a new one each run).")
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even though DEBUG is off. Never on a server that holds real cases.",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "seed_bulk fills the database with fictional cases and demo logins: it only "
                "runs with DJANGO_DEBUG=1, or with --allow-production."
            )
        if options["cases"] < 0 or options["caseworkers"] < 1:
            raise CommandError("--cases must be 0 or more and --caseworkers at least 1.")
        password = options["password"] or secrets.token_urlsafe(12)
        started = time.monotonic()
        organisation = bulk.bulk_organisation()
        try:
            staff = bulk.bulk_staff(
                organisation=organisation,
                caseworkers=options["caseworkers"],
                volunteers=options["volunteers"],
                password=password,
                reset_password=bool(options["password"]),
            )
        except ValueError as error:
            raise CommandError(str(error)) from None

        def progress(done: int, total: int) -> None:
            elapsed = time.monotonic() - started
            self.stdout.write(f"  {done:>7} / {total} cases  ({elapsed:.0f} s)")

        counts = bulk.bulk_seed(
            organisation=organisation,
            staff=staff,
            cases=options["cases"],
            years=options["years"],
            seed=options["seed"],
            progress=progress,
        )
        seeded = time.monotonic() - started
        rendered = 0
        if options["pdfs"]:
            weasy = logging.getLogger("weasyprint.progress")
            level = weasy.level
            weasy.setLevel(logging.WARNING)
            try:
                rendered = bulk.render_some_pdfs(organisation=organisation, count=options["pdfs"])
            finally:
                weasy.setLevel(level)
        self._report(organisation, staff, counts, seeded, rendered, password, options)

    def _report(self, organisation, staff, counts, seeded, rendered, password, options):
        w = self.stdout.write
        w(self.style.SUCCESS(f"Added to “{organisation}” in {seeded:.1f} s:"))
        for label, n in counts.items():
            w(f"  {label:<17} {n:>8}")
        w(f"  {'PDFs rendered':<17} {rendered:>8}")
        w("")
        w("Logins (two-factor: `python manage.py demo_totp USERNAME` prints the current code):")
        w(f"  {bulk.COORDINATOR}  (coordinator: sees every case)")
        last_cw = bulk.caseworker_name(len(staff.caseworkers))
        w(f"  {bulk.caseworker_name(1)} … {last_cw}  (caseworkers: their assigned cases)")
        if staff.volunteers:
            last_vol = bulk.volunteer_name(len(staff.volunteers))
            w(f"  {bulk.volunteer_name(1)} … {last_vol}  (volunteers: a few cases each)")
        if options["password"]:
            w("Password (all bulk users): the one given with --password.")
        elif staff.created:
            w(f"Password of the {len(staff.created)} new bulk users: {password}")
            if len(staff.created) < 1 + len(staff.caseworkers) + len(staff.volunteers):
                w("Existing bulk users kept their passwords (use --password to reset them).")
        else:
            w("The bulk users existed already and kept their passwords (--password resets them).")
