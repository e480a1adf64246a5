"""EXPLAIN ANALYZE of the queries a caseworker's visibility scope runs into, in two forms.

    .venv/bin/python bench/visibility.py [--caseworker bulk-caseworker-001] [--verbose]

Same database and keys as bench/pages.py (run that first: it seeds the cases). For each query
of the dashboard, the case list and the register, the plan's top node, whether it scans the
whole case table, and the execution time, for the old predicate (`EXISTS (assignment of the
user for this case)`) and the current one (`Case.objects.visible_to`: the case ids of the
user's assignments, read from the (user, case) index). `--verbose` prints the full plans.
Times are noisy on a shared machine; the plans are the point.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def queries(cases):
    from django.db.models import Count, Exists, OuterRef
    from django.utils import timezone

    from casework.models import Event
    from letters.models import Letter

    today = timezone.localdate()
    issued = [Letter.Status.ISSUED, Letter.Status.REVOKED]
    return {
        "status counts": cases.order_by().values_list("status").annotate(n=Count("pk")),
        "overdue deadlines": Event.objects.filter(
            case__in=cases, is_deadline=True, done=False, date__lt=today
        ).order_by("date", "time")[:20],
        "case list, capped count": cases.values("pk")[:10_001],
        "case list, first page": cases.order_by("-opened_at", "-pk")[:25],
        "register, first page": Letter.objects.filter(
            Exists(cases.filter(pk=OuterRef("case_id"))), status__in=issued
        ).order_by("-issued_at", "-sequence")[:50],
    }


def explain(queryset) -> tuple[str, bool, float, str]:
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql, params)
        lines = [row[0] for row in cursor.fetchall()]
    seq = any("Seq Scan on casework_case" in line for line in lines)
    time_ms = next(float(line.split()[-2]) for line in lines if "Execution Time" in line)
    return lines[0].strip(), seq, time_ms, "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--caseworker", default="bulk-caseworker-001")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument(
        "--random-page-cost", help="SET random_page_cost for the session (e.g. 1.1, for SSDs)"
    )
    args = parser.parse_args()
    import pages

    pages.configure_environment()
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import Exists, OuterRef

    from casework.models import Assignment, Case

    user = get_user_model().objects.get(username=args.caseworker)
    in_org = Case.objects.filter(organisation_id=user.membership.organisation_id)
    forms = {
        "EXISTS": in_org.filter(Exists(Assignment.objects.filter(case=OuterRef("pk"), user=user))),
        "visible_to": Case.objects.visible_to(user),
    }
    with connection.cursor() as cursor:
        if args.random_page_cost:
            cursor.execute("SET random_page_cost = %s", [float(args.random_page_cost)])
        cursor.execute("SHOW random_page_cost")
        rpc = cursor.fetchone()[0]
        cursor.execute("SHOW effective_cache_size")
        ecs = cursor.fetchone()[0]
    print(
        f"{Case.objects.count()} cases, {forms['visible_to'].count()} visible to {user}; "
        f"random_page_cost={rpc}, effective_cache_size={ecs}, load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'query':<26} {'form':<11} {'ms':>7}  seq scan of cases  top node")
    for name in queries(forms["EXISTS"]):
        for form, cases in forms.items():
            for _ in range(2):  # the second run is the one reported (warm buffers)
                top, seq, ms, plan = explain(queries(cases)[name])
            print(f"{name:<26} {form:<11} {ms:>7.2f}  {'YES' if seq else 'no':<17}  {top}")
            if args.verbose:
                print(plan + "\n")


if __name__ == "__main__":
    main()
