"""Lift an account's emergency lock and its login lockout from the server, for when nobody who
could do it in the admin can log in (README, "Logging in"). Logged in the access log like the
admin's "Unlock", without a user: the server's operator did it."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import services


class Command(BaseCommand):
    help = (
        "Unlock an account locked in an emergency (and lift a lockout after wrong passwords); "
        "recorded in the access log."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"There is no account with the username {username!r}.")
        was_locked = user.locked_at is not None
        services.account_unlock(user=user, by=None, request=None)
        state = "was locked" if was_locked else "was not locked"
        self.stdout.write(
            self.style.SUCCESS(f"{username}: unlocked ({state}); it can log in again.")
        )
        if not user.is_active:
            self.stdout.write(
                self.style.WARNING(f"{username} is deactivated: activate it in the admin first.")
            )
