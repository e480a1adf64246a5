"""Name search across scripts and transliteration conventions.

The same surname reaches a caseworker as Зуганшин (the internal passport), Zuganshin (an English
form), Zouganchine (a French one) or Suganschin (a German one). Each spelling is reduced to a
phonetic skeleton: Cyrillic is transliterated, then the spellings that different conventions use
for one Russian sound are folded together. Two spellings of one name share a skeleton; the index
holds keyed hashes of the skeletons of every name token and of their prefixes, and a query
matches when all of its tokens' hashes are there.
"""

import re
import unicodedata
from collections.abc import Iterable

from core.crypto import blind_token

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u",
}  # fmt: skip

# Applied in order, longest spellings first. Each line folds the ways English, French and German
# write one Russian sound into one symbol.
_FOLDS = [
    (r"x", "ks"),
    (r"tsch|shch|sch|tch|ch|sh|zh|dzh|dj", "S"),  # ш щ ч ж
    (r"tz|ts|z", "Z"),  # ц з (German s is з: Suganschin)
    (r"kh|ck|c|k|q|h|g", "K"),  # х к г (French and German write к as c or ck)
    (r"^jou", "SU"),  # French ж before у: Joukov
    (r"ff|ph|f|v|w", "V"),  # Ivanoff / Iwanow / Ivanov
    (r"iya|iia|ija|ya|ia|ja", "A"),  # Мария / Maria / Mariya  # я: English y, French i, German j
    (r"you|iou|yu|iu|ju", "U"),  # ю
    (r"yo|jo|io", "E"),  # ё: Fjodor / Fiodor / Fyodor
    (r"ye|je|ie", "E"),  # е after a vowel or at the start: Yerofey / Jerofej / Dmitriev
    (r"[iyj]E", "E"),  # и before е or ё: Dmitriev / Dmitrijew
    (r"ou|oo|u", "U"),
    (r"ai|ei|ey|ay|ej|aj", "AI"),  # -ей, -ай: Aleksei / Alexej / Aleksey
    (r"e", "E"),
    (r"y|i|j", "I"),  # й ы и
]
_FOLD_RE = [(re.compile(pattern), repl) for pattern, repl in _FOLDS]


# ICAO Doc 9303, as in Russian foreign passports since 2014.
_ICAO_9303 = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ю": "iu",
    "я": "ia",
}  # fmt: skip


def icao_9303(text: str) -> str:
    """Russian to Latin as a Russian passport writes it (ICAO Doc 9303): "Юлия" → "Iuliia",
    "Ростов-на-Дону" → "Rostov-na-Donu". Capitals stay where they were: a capital letter
    gives a capital first letter ("Щ" → "Shch"), or all capitals inside a word written in
    capitals ("ЩУКИН" → "SHCHUKIN"). Never `.title()`, which capitalises every word part."""
    out = []
    for i, char in enumerate(text):
        latin = _ICAO_9303.get(char.lower())
        if latin is None:
            out.append(char)
        elif not char.isupper():
            out.append(latin)
        else:
            neighbours = text[max(i - 1, 0) : i] + text[i + 1 : i + 2]
            letters = [c for c in neighbours if c.isalpha()]
            all_caps = bool(letters) and all(c.isupper() for c in letters)
            out.append(latin.upper() if all_caps else latin.capitalize())
    return "".join(out)


def transliterate(text: str) -> str:
    """Cyrillic to a plain Latin transliteration; other letters lose their accents."""
    out = []
    for char in text.lower():
        out.append(_CYRILLIC.get(char, char))
    decomposed = unicodedata.normalize("NFKD", "".join(out))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def skeleton(token: str) -> str:
    """The phonetic skeleton of one word: 'Зуганшин', 'Zuganshin' and 'Zouganchine' agree."""
    word = re.sub(r"[^a-z]", "", transliterate(token))
    if word.startswith("s") and not word.startswith(("sh", "sch", "st", "sp", "sk")):
        # German writes a voiced з as s at the start of a word (Suganschin).
        word = "z" + word[1:]
    for pattern, repl in _FOLD_RE:
        word = pattern.sub(repl, word)
    word = word.lower()
    word = re.sub(r"(.)\1+", r"\1", word)  # double letters: Ivanoff, Brunner
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]  # French mute e: Zouganchine
    return word


def tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[\s\-,.'’]+", text) if t]


MIN_PREFIX = 3


def name_index(names: Iterable[str]) -> str:
    """What is stored on a client for search: keyed hashes (core.crypto.blind_token) of the
    skeleton of every name token and of its prefixes from three letters on, space-separated.
    The names themselves are only stored encrypted."""
    hashes: list[str] = []
    for name in names:
        for token in tokens(name):
            sk = skeleton(token)
            for end in range(min(MIN_PREFIX, len(sk)), len(sk) + 1):
                if end and (h := blind_token(sk[:end])) not in hashes:
                    hashes.append(h)
    return " " + " ".join(hashes) + " " if hashes else ""


def query_index_tokens(query: str) -> list[str]:
    """The blind-index hashes a search query must all match (tokens under three letters are
    only matched as whole names)."""
    return [blind_token(sk) for sk in (skeleton(t) for t in tokens(query)) if sk]


def query_skeletons(query: str) -> list[str]:
    return [sk for sk in (skeleton(t) for t in tokens(query)) if sk]


def normalise_reference(value: str) -> str:
    """An authority's file number as it is compared: capitals, without spaces, dashes, dots or
    slashes ("A 123-456-789" and "a123456789" are one A-Number)."""
    return re.sub(r"[\s\-./]+", "", value).upper()


def reference_index(value: str) -> str:
    """The blind-index hash of a reference (CaseReference.value_index)."""
    return blind_token(normalise_reference(value))
