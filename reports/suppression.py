"""Small-count suppression: which cells of a set of related counts must be hidden so that no
count from 1 to THRESHOLD - 1 can be read or worked out by subtraction. Pure: no database."""

from collections.abc import Iterable

THRESHOLD = 5

SMALL = "small"  # fewer than THRESHOLD: shown as "<5"
COMPLEMENTARY = "complementary"  # hidden so that a small one cannot be recomputed: "*"

Key = tuple[str, ...]
TOTAL: Key = ("total",)  # the number of counted cases: never shown, maybe derivable


def suppress(values: dict[Key, int], relations: Iterable[tuple[Key, ...]]) -> dict[Key, str]:
    """Which cells to hide: {key: SMALL or COMPLEMENTARY}.

    Every count from 1 to THRESHOLD - 1 is hidden (SMALL). Then, as long as some hidden cell
    can be recomputed — a relation with all members but one known gives that one, and what it
    gives may unlock another relation — the smallest other shown member of the relation that
    gave it away is hidden too (COMPLEMENTARY). Members that are not cells (TOTAL) are never
    shown but can be derived. Ends because each round hides one more cell; a leak that no
    shown cell can close (there is none left in its relation) is accepted."""
    relations = list(relations)
    hidden = {k: SMALL for k, v in values.items() if 0 < v < THRESHOLD}
    accepted: set[Key] = set()
    while True:
        leak = _first_leak(values, relations, hidden, accepted)
        if leak is None:
            return hidden
        key, relation = leak
        shown = [m for m in relation if m in values and m not in hidden]
        if not shown:
            accepted.add(key)
            continue
        # The smallest non-zero count first: it costs the reader least.
        hidden[min(shown, key=lambda m: (values[m] == 0, values[m]))] = COMPLEMENTARY


def _first_leak(values, relations, hidden, accepted) -> tuple[Key, tuple[Key, ...]] | None:
    known = {k for k in values if k not in hidden}
    progress = True
    while progress:
        progress = False
        for relation in relations:
            unknown = {m for m in relation if m not in known}
            if len(unknown) == 1:
                (member,) = unknown
                if member in hidden and member not in accepted:
                    return member, relation
                known.add(member)
                progress = True
    return None
