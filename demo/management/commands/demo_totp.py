"""Print the current two-factor code of a demo user (DEBUG only):

    python manage.py demo_totp caseworker

For newcomers without an authenticator app at hand, and for scripted logins in development.
A code is accepted once: if the current one was already used, this waits for the next one."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP

from accounts.services import totp_device
from casework.models import Membership
from demo.data import ORGANISATION


class Command(BaseCommand):
    help = "Print the current TOTP code of a demo user (only with DJANGO_DEBUG=1)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--no-wait",
            action="store_true",
            help="Print the current code even if it was already used.",
        )

    def handle(self, *args, username, no_wait=False, **options):
        if not settings.DEBUG:
            raise CommandError("demo_totp only runs with DJANGO_DEBUG=1: it defeats two-factor.")
        membership = (
            Membership.objects.filter(
                user__username=username, organisation__name=ORGANISATION["name"]
            )
            .select_related("user")
            .first()
        )
        if membership is None:
            raise CommandError(f"“{username}” is not a user of the demo organisation (seed_demo).")
        device = totp_device(membership.user)
        if device is None:
            raise CommandError(f"“{username}” has no authenticator: run seed_demo again.")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        # django-otp refuses a code of a time step already used (replay): wait for a new one.
        while not no_wait and totp.t() <= device.last_t:
            time.sleep(device.step - (time.time() - device.t0) % device.step + 0.2)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
