"""Check the access log's hash chain: every entry must carry the hash of the one before it and
a hash of its own fields. A deleted, altered or forged row breaks the chain from that row on.

Exit status 0 when the whole chain holds, 1 with the id of the first broken entry otherwise
(for cron or monitoring)."""

from django.core.management.base import BaseCommand, CommandError

from casework import audit


class Command(BaseCommand):
    help = "Verify the access log's hash chain; exits non-zero at the first broken entry."

    def handle(self, *args, **options):
        checked, broken = audit.verify_chain()
        if broken is not None:
            raise CommandError(
                f"Access log chain BROKEN at entry {broken} ({checked} entries before it are OK).",
                returncode=1,
            )
        self.stdout.write(self.style.SUCCESS(f"{checked} entries, chain OK."))
