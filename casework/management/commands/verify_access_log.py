"""Seal what requests appended since the sealer's last run, then check the access log: every
chain in order (each entry's number follows the one before, it
links to its hash, and its HMAC under ACCESS_LOG_KEY matches its fields), the entries from
before the log was keyed with their old hashes, and the anchors given (casework.audit).

    manage.py verify_access_log
    manage.py verify_access_log --anchor 3:1842:5f0c…   (from the daily email, a backup, …)
    journalctl -u pristan | manage.py verify_access_log --anchors-file -

An anchor file can be any text: every `chain:seq:hash` in it is checked (the server log's
anchor lines, the daily email, a backup's summary). Without anchors, a removed tail or a chain
rewritten by someone who had the key cannot be seen.

`--no-seal` checks without sealing first (e.g. as a role that may only read the log); entries
not sealed yet are then counted, and reported only when older than ACCESS_LOG_SEAL_ALARM.

Exit status 0 when everything holds, 1 otherwise (for cron or monitoring). The newest entry of
each chain is printed as an anchor line: keep it somewhere else.
"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from casework import audit


class Command(BaseCommand):
    help = "Verify the access log's keyed chains, and the anchors given; exits 1 on any problem."

    def add_arguments(self, parser):
        parser.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="CHAIN:SEQ:HASH",
            help="an anchor to compare with (repeatable)",
        )
        parser.add_argument(
            "--anchors-file",
            metavar="PATH",
            help='a text holding anchors, e.g. server log lines ("-": standard input)',
        )
        parser.add_argument(
            "--no-seal",
            dest="seal",
            action="store_false",
            help="check only: do not seal the newest entries first",
        )

    def handle(self, *args, anchor, anchors_file=None, seal=True, **options):
        anchors = []
        for given in anchor:
            parsed = audit.parse_anchors(given)
            if len(parsed) != 1:
                raise CommandError(f"Not an anchor (CHAIN:SEQ:HASH): {given}", returncode=2)
            anchors += parsed
        if anchors_file:
            try:
                text = sys.stdin.read() if anchors_file == "-" else Path(anchors_file).read_text()
            except OSError as error:
                raise CommandError(
                    f"Cannot read {anchors_file}: {error.strerror}.", returncode=2
                ) from None
            found = audit.parse_anchors(text)
            if not found:
                raise CommandError(f"No anchor (CHAIN:SEQ:HASH) in {anchors_file}.", returncode=2)
            anchors += found
        if seal:
            audit.seal()
        report = audit.verify_chain(anchors=anchors)
        for head in report.heads.values():
            self.stdout.write(f"anchor {head}")
        summary = f"{report.checked} entries in {len(report.heads)} chains"
        if report.legacy:
            summary += f", {report.legacy} from before the log was keyed"
        if report.unsealed:
            summary += f", {report.unsealed} recent entries not sealed yet"
        if anchors:
            summary += f", {len(anchors)} anchors compared"
        if not report.ok:
            raise CommandError(
                "Access log BROKEN:\n" + "\n".join(report.problems) + f"\n({summary} verify.)",
                returncode=1,
            )
        self.stdout.write(self.style.SUCCESS(f"{summary}: access log OK."))
