"""How a letter writes dates, forms of address, places, nationalities and grounds: in the
letter's language and, where the country matters (US or British English), the addressee's
country's style, the same everywhere in one letter. Pure functions; no database.

Dates keep their parts together with no-break spaces, so that a line never ends inside one.
"""

from collections.abc import Callable
from datetime import date

NBSP = "\u00a0"

MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"],
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
           "September", "Oktober", "November", "Dezember"],
    # Genitive: "13 июля 1996 г.", "с июля 2024 г."
    "ru": ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
           "сентября", "октября", "ноября", "декабря"],
}  # fmt: skip


def format_date(value: date | None, language: str, country: str = "") -> str:
    """fr "1er juillet 1996", de "13. Juli 1996", en-US "July 13, 1996", other English
    "13 July 1996", ru "13 июля 1996 г."."""
    if value is None:
        return ""
    month = MONTHS.get(language, MONTHS["en"])[value.month - 1]
    day, year, s = value.day, value.year, NBSP
    if language == "fr":
        return f"{'1er' if day == 1 else day}{s}{month}{s}{year}"
    if language == "de":
        return f"{day}.{s}{month}{s}{year}"
    if language == "ru":
        return f"{day}{s}{month}{s}{year}{s}г."
    if country == "US":
        return f"{month}{s}{day},{s}{year}"
    return f"{day}{s}{month}{s}{year}"


def format_month(value: date | None, language: str) -> str:
    """Month and year: "juillet 2024", "Juli 2024", "July 2024", ru genitive "июля 2024 г."
    (reads after "с", "since")."""
    if value is None:
        return ""
    month = MONTHS.get(language, MONTHS["en"])[value.month - 1]
    if language == "ru":
        return f"{month}{NBSP}{value.year}{NBSP}г."
    return f"{month}{NBSP}{value.year}"


# Forms of address by gender; "x" (non-binary) and "" (unknown) get the neutral form: none.
TITLES = {
    "fr": {"f": "Madame", "m": "Monsieur"},
    "de": {"f": "Frau", "m": "Herr"},
    "en": {"f": "Ms", "m": "Mr"},
    "ru": {"f": "г-жа", "m": "г-н"},
}


def title(gender: str, language: str) -> str:
    return TITLES.get(language, {}).get(gender, "")


# Nationality as it follows "nationalité :", "Staatsangehörigkeit:", "citizenship:",
# "гражданство:"; other countries fall back to the country's name.
NATIONALITIES = {
    "RU": {"en": "Russian", "fr": "russe", "de": "russisch", "ru": "Российская Федерация"},
    "BY": {
        "en": "Belarusian",
        "fr": "biélorusse",
        "de": "belarussisch",
        "ru": "Республика Беларусь",
    },
    "UA": {"en": "Ukrainian", "fr": "ukrainienne", "de": "ukrainisch", "ru": "Украина"},
    "KZ": {"en": "Kazakh", "fr": "kazakhe", "de": "kasachisch", "ru": "Республика Казахстан"},
    "UZ": {"en": "Uzbek", "fr": "ouzbèke", "de": "usbekisch", "ru": "Республика Узбекистан"},
    "TJ": {"en": "Tajik", "fr": "tadjike", "de": "tadschikisch", "ru": "Республика Таджикистан"},
    "KG": {"en": "Kyrgyz", "fr": "kirghize", "de": "kirgisisch", "ru": "Киргизская Республика"},
    "TM": {"en": "Turkmen", "fr": "turkmène", "de": "turkmenisch", "ru": "Туркменистан"},
    "AZ": {
        "en": "Azerbaijani",
        "fr": "azerbaïdjanaise",
        "de": "aserbaidschanisch",
        "ru": "Азербайджанская Республика",
    },
    "AM": {"en": "Armenian", "fr": "arménienne", "de": "armenisch", "ru": "Республика Армения"},
    "GE": {"en": "Georgian", "fr": "géorgienne", "de": "georgisch", "ru": "Грузия"},
    "MD": {"en": "Moldovan", "fr": "moldave", "de": "moldauisch", "ru": "Республика Молдова"},
}


def nationality(code: str, language: str, country_name: str) -> str:
    return NATIONALITIES.get(code, {}).get(language, country_name)


# Grounds in the legal terms of the jurisdiction the letter goes to: (language, country) first,
# then the language alone. "other" is never printed: it is a caseworker's bucket, not a ground.
GROUNDS: dict[str | tuple[str, str], dict[str, str]] = {
    "fr": {
        "political": "les opinions politiques",
        "religion": "la religion",
        "ethnicity": "l'origine ethnique",
        "sogi": "l'appartenance à un certain groupe social (orientation sexuelle et identité de "
        "genre)",
        "military": "le refus d'accomplir le service militaire dans un conflit impliquant la "
        "commission de crimes de guerre",
        "business": "les opinions politiques imputées du fait de l'activité économique",
    },
    "de": {
        "political": "politische Überzeugung (§ 3b Abs. 1 Nr. 5 AsylG)",
        "religion": "Religion (§ 3b Abs. 1 Nr. 2 AsylG)",
        "ethnicity": "ethnische Zugehörigkeit (§ 3b Abs. 1 Nr. 1 AsylG)",
        "sogi": "sexuelle Orientierung und geschlechtliche Identität als Zugehörigkeit zu einer "
        "bestimmten sozialen Gruppe (§ 3b Abs. 1 Nr. 4 AsylG)",
        "military": "Verweigerung des Militärdienstes in einem Konflikt, in dem der Militärdienst "
        "Kriegsverbrechen umfassen würde (§ 3a Abs. 2 Nr. 5 AsylG)",
        "business": "zugeschriebene politische Überzeugung wegen unternehmerischer Tätigkeit "
        "(§ 3b Abs. 2 AsylG)",
    },
    ("en", "US"): {
        "political": "political opinion",
        "religion": "religion",
        "ethnicity": "race and nationality (ethnicity)",
        "sogi": "membership in a particular social group (sexual orientation and gender identity)",
        "military": "conscientious objection to serving in a war involving violations of "
        "international humanitarian law",
        "business": "imputed political opinion",
    },
    "en": {
        "political": "political opinion",
        "religion": "religion",
        "ethnicity": "race and nationality (ethnicity)",
        "sogi": "membership of a particular social group (sexual orientation and gender identity)",
        "military": "refusal to perform military service in a conflict involving war crimes",
        "business": "imputed political opinion",
    },
    "ru": {
        "political": "политические убеждения",
        "religion": "религиозные убеждения",
        "ethnicity": "этническая принадлежность",
        "sogi": "сексуальная ориентация и гендерная идентичность",
        "military": "отказ от участия в военных действиях",
        "business": "преследование за предпринимательскую деятельность",
    },
}


def grounds(codes: list[str], language: str, country: str) -> list[str]:
    labels = GROUNDS.get((language, country)) or GROUNDS.get(language) or GROUNDS["en"]
    return [labels[code] for code in codes if code in labels]


# Places of birth in the conventional form of each language, by the Russian name (lower case)
# and its usual Latin spellings. A place not listed prints as the passport writes it.
PLACES = [
    # (ru, en, fr, de, other spellings)
    ("москва", "Moscow", "Moscou", "Moskau", ["moskva"]),
    ("санкт-петербург", "Saint Petersburg", "Saint-Pétersbourg", "Sankt Petersburg",
     ["sankt-peterburg", "st. petersburg", "leningrad", "ленинград"]),
    ("ростов-на-дону", "Rostov-on-Don", "Rostov-sur-le-Don", "Rostow am Don", ["rostov-na-donu"]),
    ("нижний новгород", "Nizhny Novgorod", "Nijni Novgorod", "Nischni Nowgorod",
     ["nizhnii novgorod", "gorky", "горький"]),
    ("екатеринбург", "Yekaterinburg", "Iekaterinbourg", "Jekaterinburg",
     ["ekaterinburg", "sverdlovsk", "свердловск"]),
    ("новосибирск", "Novosibirsk", "Novossibirsk", "Nowosibirsk", []),
    ("казань", "Kazan", "Kazan", "Kasan", ["kazan'"]),
    ("самара", "Samara", "Samara", "Samara", ["kuibyshev", "куйбышев"]),
    ("уфа", "Ufa", "Oufa", "Ufa", []),
    ("челябинск", "Chelyabinsk", "Tcheliabinsk", "Tscheljabinsk", ["cheliabinsk"]),
    ("омск", "Omsk", "Omsk", "Omsk", []),
    ("пермь", "Perm", "Perm", "Perm", ["perm'"]),
    ("воронеж", "Voronezh", "Voronej", "Woronesch", []),
    ("волгоград", "Volgograd", "Volgograd", "Wolgograd", ["stalingrad", "сталинград"]),
    ("краснодар", "Krasnodar", "Krasnodar", "Krasnodar", []),
    ("саратов", "Saratov", "Saratov", "Saratow", []),
    ("тюмень", "Tyumen", "Tioumen", "Tjumen", ["tiumen"]),
    ("ярославль", "Yaroslavl", "Iaroslavl", "Jaroslawl", ["iaroslavl"]),
    ("калининград", "Kaliningrad", "Kaliningrad", "Kaliningrad", []),
    ("грозный", "Grozny", "Grozny", "Grosny", ["groznyi", "groznyy"]),
    ("махачкала", "Makhachkala", "Makhatchkala", "Machatschkala", []),
    ("нальчик", "Nalchik", "Naltchik", "Naltschik", ["nal'chik"]),
    ("владикавказ", "Vladikavkaz", "Vladikavkaz", "Wladikawkas", []),
    ("назрань", "Nazran", "Nazran", "Nasran", []),
    ("черкесск", "Cherkessk", "Tcherkessk", "Tscherkessk", []),
    ("майкоп", "Maykop", "Maïkop", "Maikop", ["maikop"]),
    ("симферополь", "Simferopol", "Simferopol", "Simferopol", []),
    ("севастополь", "Sevastopol", "Sébastopol", "Sewastopol", []),
    ("владивосток", "Vladivostok", "Vladivostok", "Wladiwostok", []),
    ("хабаровск", "Khabarovsk", "Khabarovsk", "Chabarowsk", []),
    ("иркутск", "Irkutsk", "Irkoutsk", "Irkutsk", []),
    ("красноярск", "Krasnoyarsk", "Krasnoïarsk", "Krasnojarsk", ["krasnoiarsk"]),
    ("якутск", "Yakutsk", "Iakoutsk", "Jakutsk", ["iakutsk"]),
    ("оренбург", "Orenburg", "Orenbourg", "Orenburg", []),
    ("астрахань", "Astrakhan", "Astrakhan", "Astrachan", ["astrakhan'"]),
    ("мурманск", "Murmansk", "Mourmansk", "Murmansk", []),
    ("архангельск", "Arkhangelsk", "Arkhangelsk", "Archangelsk", []),
    ("томск", "Tomsk", "Tomsk", "Tomsk", []),
    ("барнаул", "Barnaul", "Barnaoul", "Barnaul", []),
    ("ижевск", "Izhevsk", "Ijevsk", "Ischewsk", []),
    ("минск", "Minsk", "Minsk", "Minsk", []),
    ("киев", "Kyiv", "Kyiv", "Kyjiw", ["kiev", "київ", "kyiv"]),
    ("харьков", "Kharkiv", "Kharkiv", "Charkiw", ["kharkov", "харків"]),
    ("одесса", "Odesa", "Odessa", "Odessa", ["odessa", "одеса"]),
    ("алматы", "Almaty", "Almaty", "Almaty", ["alma-ata", "алма-ата"]),
    ("ташкент", "Tashkent", "Tachkent", "Taschkent", ["toshkent"]),
    ("душанбе", "Dushanbe", "Douchanbé", "Duschanbe", []),
    ("бишкек", "Bishkek", "Bichkek", "Bischkek", ["frunze", "фрунзе"]),
    ("баку", "Baku", "Bakou", "Baku", ["baky"]),
    ("ереван", "Yerevan", "Erevan", "Jerewan", ["erevan"]),
    ("тбилиси", "Tbilisi", "Tbilissi", "Tiflis", []),
    ("кишинёв", "Chișinău", "Chișinău", "Chișinău", ["кишинев", "kishinev", "chisinau"]),
]  # fmt: skip

# Each spelling of a place, to its names in ru, en, fr, de (by _COLUMN).
_PLACE_INDEX = {
    name: row[:4]
    for row in PLACES
    for name in [row[0], row[1].lower(), *(s.lower() for s in row[4])]
}
_COLUMN = {"en": 1, "fr": 2, "de": 3}


def _place_key(text: str) -> str:
    key = " ".join(text.lower().replace("г.", " ").split()).strip(" ,.")
    return key.removeprefix("город ").removeprefix("city of ")


def birth_place(local: str, latin: str, language: str, fallback: Callable[[str], str]) -> str:
    """The place of birth for a letter: its conventional name in the letter's language when the
    place is known here, else as the passport writes it in Latin letters (`latin`), else the
    place in the client's own script (`local`) passed through `fallback` (a transliteration)
    for Latin-script letters."""
    if language == "ru":
        return local or latin
    for text in (latin, local):
        row = _PLACE_INDEX.get(_place_key(text)) if text else None
        if row:
            return row[_COLUMN.get(language, 1)]
    if latin:
        return latin
    return fallback(local) if local else ""
