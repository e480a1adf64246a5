"""The demo's fixed tables: the organisation, its staff, the groups the fictional clients are
drawn from, their stories' wordings, and the plans of the cases' events. Everything here is
invented (see demo.builders for how it is combined)."""

import random
from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model

from casework.models import (
    Case,
    Membership,
)
from casework.names import icao_9303

User = get_user_model()
Role = Membership.Role
S = Case.Status

SEED = 1362
N_CASES = 40
URL = "http://127.0.0.1:8000/"

ORGANISATION = {
    "name": "Пристань — комитет помощи беженцам (demo)",
    "short_name": "Pristan demo",
    "address": "Пристанский переулок, д. 13, офис 4\n101000 Москва\nРоссия",
    "email": "pristan-demo@example.org",
    "phone": "+7 495 000-00-00",
    "website": "https://pristan-demo.example.org/",
}


@dataclass(frozen=True)
class Staff:
    username: str
    role: str
    first_name: str
    last_name: str
    email: str
    special: bool = False
    superuser: bool = False


STAFF = [
    Staff("admin", Role.ADMINISTRATOR, "Ирина", "Лаптева", "irina.lapteva@example.org",
          superuser=True),
    Staff("coordinator", Role.COORDINATOR, "Татьяна", "Румянцева",
          "tatiana.rumiantseva@example.org"),
    Staff("caseworker", Role.CASEWORKER, "Антон", "Ветров", "anton.vetrov@example.org",
          special=True),
    Staff("caseworker2", Role.CASEWORKER, "Диляра", "Шарипова", "diliara.sharipova@example.org"),
    Staff("volunteer", Role.VOLUNTEER, "Ксения", "Федотова", "kseniia.fedotova@example.org"),
    Staff("lawyer", Role.LAWYER, "Élise", "Garnier", "elise.garnier@example.org", special=True),
    Staff("auditor", Role.AUDITOR, "Георгий", "Миронов", "georgii.mironov@example.org"),
]  # fmt: skip


# --- Names ---------------------------------------------------------------------------------------

# Passport transliteration (ICAO Doc 9303): casework.names.icao_9303.
icao = icao_9303


@dataclass
class Group:
    """Common names of one background: (family name in Cyrillic, French spelling, German
    spelling), male and female given names, stems of fathers' names for patronymics."""

    surnames: list[tuple[str, str | None, str | None]]
    male: list[str]
    female: list[str]
    fathers: list[str]
    birthplaces: list[str]
    citizenships: list[list[str]]
    languages: list[str]


GROUPS = {
    "russian": Group(
        surnames=[
            ("Белов", None, "Below"), ("Орлов", None, "Orlow"), ("Морозов", None, "Morosow"),
            ("Лебедев", None, "Lebedew"), ("Зайцев", "Zaïtsev", "Saizew"),
            ("Тихонов", None, "Tichonow"), ("Ершов", "Erchov", "Jerschow"),
            ("Крылов", None, "Krylow"), ("Фомин", "Fomine", None), ("Гусев", "Goussev", "Gussew"),
            ("Воронин", "Voronine", "Woronin"), ("Щукин", "Chtchoukine", "Schtschukin"),
            ("Голубев", "Goloubev", "Golubew"), ("Кудрявцев", "Koudriavtsev", "Kudrjawzew"),
            ("Мухин", "Moukhine", "Muchin"),
        ],
        male=["Андрей", "Сергей", "Никита", "Роман", "Егор", "Илья", "Максим", "Денис", "Артём",
              "Степан", "Иван", "Фёдор"],
        female=["Анна", "Мария", "Екатерина", "Наталья", "Дарья", "Алина", "Елена", "Полина",
                "Софья", "Юлия", "Вера"],
        fathers=["Андрее", "Сергее", "Николае", "Викторо", "Юрье", "Петро", "Игоре", "Олего",
                 "Анатолье", "Валерье"],
        birthplaces=["Москва", "Санкт-Петербург", "Екатеринбург", "Новосибирск", "Самара",
                     "Пермь", "Воронеж", "Нижний Новгород", "Омск", "Томск", "Иркутск",
                     "Краснодар"],
        citizenships=[["RU"]],
        languages=["Russian", "Russian, English", "Russian, some French", "Russian, German"],
    ),
    "tatar": Group(
        surnames=[
            ("Хайруллин", "Khaïroulline", "Chairullin"), ("Гарифуллин", "Garifoulline", None),
            ("Сафин", "Safine", None), ("Валиев", None, "Walijew"), ("Галиев", None, "Galijew"),
            ("Закиров", None, "Sakirow"), ("Мухаметшин", "Moukhametchine", "Muchametschin"),
            ("Хабибуллин", "Khabiboulline", "Chabibullin"), ("Ганиев", None, None),
            ("Ахметзянов", "Akhmetzianov", None),
        ],
        male=["Ринат", "Ильдар", "Айдар", "Рустем", "Марат", "Тимур", "Булат", "Ильнур", "Азат"],
        female=["Гульнара", "Алсу", "Лейсан", "Эльмира", "Резеда", "Айгуль", "Зульфия"],
        fathers=["Ринато", "Ильдаро", "Равило", "Фарито", "Рашидо", "Наило", "Азато"],
        birthplaces=["Казань", "Набережные Челны", "Альметьевск", "Нижнекамск", "Уфа", "Елабуга"],
        citizenships=[["RU"]],
        languages=["Russian, Tatar", "Tatar, Russian, English"],
    ),
    "caucasus": Group(
        surnames=[
            ("Мусаев", "Moussaïev", "Mussajew"), ("Исраилов", "Israïlov", None),
            ("Бисултанов", "Bissoultanov", "Bissultanow"), ("Эльмурзаев", "Elmourzaïev", None),
            ("Цокаев", "Tsokaïev", "Zokajew"), ("Хасанов", "Khassanov", "Chassanow"),
            ("Магомедов", None, "Magomedow"), ("Гаджиев", "Gadjiev", "Gadschijew"),
            ("Исмаилов", "Ismaïlov", None),
        ],
        male=["Ислам", "Ахмед", "Руслан", "Зелимхан", "Магомед", "Адам", "Ибрагим", "Анзор",
              "Шамиль", "Саид"],
        female=["Хеда", "Мадина", "Зарема", "Амина", "Луиза", "Милана", "Хава"],
        fathers=["Магомедо", "Ахмедо", "Султано", "Хасано", "Шамиле", "Алие", "Идрисо"],
        birthplaces=["Грозный", "Гудермес", "Урус-Мартан", "Шали", "Махачкала", "Хасавюрт",
                     "Назрань", "Нальчик"],
        citizenships=[["RU"]],
        languages=["Chechen, Russian", "Chechen, Russian, Arabic"],
    ),
    "slavic": Group(
        surnames=[
            ("Коваленко", None, None), ("Шевчук", "Chevtchouk", "Schewtschuk"),
            ("Бондаренко", None, None), ("Ткаченко", "Tkatchenko", "Tkatschenko"),
            ("Мельник", None, None), ("Савчук", "Savtchouk", "Sawtschuk"),
            ("Кравец", None, "Krawez"), ("Олейник", "Oleïnik", "Olejnik"),
            ("Новик", None, "Nowik"), ("Жук", "Jouk", "Schuk"),
            ("Ковальчук", "Kovaltchouk", "Kowaltschuk"),
        ],
        male=["Тарас", "Богдан", "Остап", "Василий", "Назар", "Ярослав", "Игнат", "Матвей"],
        female=["Оксана", "Леся", "Олеся", "Алеся", "Мирослава", "Ярослава", "Галина"],
        fathers=["Тарасо", "Богдано", "Степано", "Василье", "Николае", "Ивано"],
        birthplaces=["Ростов-на-Дону", "Краснодар", "Белгород", "Курск", "Брянск", "Смоленск"],
        citizenships=[["RU"], ["RU"], ["UA"], ["BY"], ["RU", "UA"]],
        languages=["Russian, Ukrainian", "Ukrainian, Russian, English"],
    ),
    "central": Group(
        surnames=[
            ("Рахимов", "Rakhimov", "Rachimow"), ("Ахмедов", None, "Achmedow"),
            ("Турсунов", "Toursounov", "Tursunow"), ("Назаров", None, "Nasarow"),
            ("Саидов", "Saïdov", None), ("Жумабаев", "Joumabaïev", "Schumabajew"),
            ("Эргашев", "Ergachev", "Ergaschew"), ("Холматов", "Kholmatov", "Cholmatow"),
            ("Мирзоев", "Mirzoïev", "Mirsojew"), ("Байжанов", "Baïjanov", None),
            ("Оспанов", None, None),
        ],
        male=["Бахтиёр", "Шухрат", "Азиз", "Нурлан", "Ерлан", "Данияр", "Фаррух", "Жасур",
              "Санжар", "Алишер"],
        female=["Гульнора", "Нигора", "Айгерим", "Малика", "Динара", "Шахноза", "Камила"],
        fathers=["Рахимо", "Шавкато", "Ботиро", "Анваро", "Нурлано", "Бахтиёро", "Ерлано"],
        birthplaces=["Оренбург", "Астрахань", "Новосибирск", "Омск", "Москва", "Челябинск"],
        citizenships=[["RU"], ["RU"], ["KZ"], ["UZ"], ["TJ"], ["RU", "KZ"], ["RU", "TJ"]],
        languages=["Russian, Uzbek", "Russian, Kazakh"],
    ),
}  # fmt: skip

# Languages of the Caucasus that are not Chechen, by place of birth.
LANGUAGE_BY_PLACE = {
    "Махачкала": "Avar, Russian",
    "Хасавюрт": "Kumyk, Russian",
    "Назрань": "Ingush, Russian",
    "Нальчик": "Kabardian, Russian",
}

# Citizens of neighbouring countries were born there; their languages follow.
ABROAD = {
    "UA": (["Харьков", "Одесса", "Днепр", "Запорожье"], "Ukrainian, Russian"),
    "BY": (["Минск", "Гомель", "Брест", "Витебск"], "Belarusian, Russian"),
    "KZ": (["Алматы", "Караганда", "Шымкент", "Павлодар"], "Kazakh, Russian"),
    "UZ": (["Ташкент", "Самарканд", "Наманган"], "Uzbek, Russian"),
    "TJ": (["Душанбе", "Худжанд"], "Tajik, Russian"),
}

# Which backgrounds a ground is drawn from (repetition is weight).
GROUND_GROUPS = {
    "political": ["russian", "russian", "russian", "tatar", "slavic", "caucasus", "central"],
    "religion": ["russian", "russian", "slavic", "caucasus", "central", "tatar"],
    "ethnicity": ["caucasus", "caucasus", "caucasus", "central", "tatar"],
    "sogi": ["russian", "russian", "tatar", "caucasus", "slavic", "central"],
    "military": ["russian", "russian", "tatar", "slavic", "central", "caucasus"],
    "business": ["russian", "tatar", "caucasus", "slavic"],
    "other": ["russian", "central", "slavic", "caucasus"],
}
SECOND_GROUND = {
    "political": ["military", "religion"],
    "religion": ["ethnicity"],
    "ethnicity": ["religion", "political"],
    "sogi": ["political"],
    "military": ["political"],
    "business": ["political"],
    "other": [],
}


def feminine(surname: str) -> str:
    """The female form of a Russian-style family name; Ukrainian -енко, -ук and the like keep it."""
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    return surname


def feminine_alias(alias: str) -> str:
    if alias.endswith("ine"):  # French Safine → Safina
        return alias[:-1] + "a"
    return alias + "a"  # Goussev → Gousseva, Saizew → Saizewa


# --- Special-category details, by ground ---------------------------------------------------------
# Pairs are (male, female) wordings; plain strings fit both.

ORIENTATION = [
    ("Гей; семья не знает, связываться только напрямую.",
     "Лесбиянка; семья не знает, связываться только напрямую."),
    ("Бисексуален; в 2024 г. избит после «знакомства» через приложение (подстава).",
     "Бисексуальна; после аутинга угрозы от родственников."),
    ("Гей; партнёр уехал вместе с ним, подают заявления вместе.",
     "Лесбиянка; партнёрка уехала вместе с ней, подают заявления вместе."),
]  # fmt: skip
RELIGION_MUSLIM = [
    ("Практикующий мусульманин; вызывали на «профилактические беседы» в центр «Э».",
     "Практикующая мусульманка; вызывали на «профилактические беседы» в центр «Э»."),
    "Muslim community member; pressured to inform on the local mosque.",
]  # fmt: skip
RELIGION_OTHER = [
    "Свидетель Иеговы с 2011 г.; после запрета организации — обыски у единоверцев.",
    "Jehovah's Witness; attended home Bible meetings, searched in 2023.",
    "Пятидесятническая церковь; община под давлением местной администрации.",
]
POLITICAL = [
    "Наблюдение на выборах; два задержания на акциях.",
    "Администрирование регионального оппозиционного Telegram-канала.",
    "Пожертвования организации, признанной «экстремистской».",
    "Антивоенные пикеты; протоколы по ст. 20.3.3 КоАП.",
]
MILITARY = [
    "Art. 338 desertion case opened in absentia.",
    "Ст. 338 УК РФ (дезертирство), дело возбуждено заочно; объявлен в розыск.",
    "Ст. 337 УК РФ (самовольное оставление части); мобилизован, ушёл из части через 3 недели.",
    "Ст. 328 УК РФ (уклонение от службы); повестку вручили родителям после отъезда.",
]
BUSINESS = [
    "Ст. 159 ч. 4 УК РФ (мошенничество); дело возбуждено после отказа продать долю в бизнесе.",
    "Ст. 199 УК РФ (налоги); по словам клиента, дело сфабриковано конкурентом.",
    "Ст. 172 УК РФ; бывший партнёр дал показания под давлением.",
]
ETHNICITY_CRIMINAL = [
    "Подозрение по ст. 208 ч. 2 УК РФ; по словам клиента, показания выбиты под пытками.",
    "Допросы без повестки как свидетеля по делу о «пособничестве».",
]
HEALTH = [
    "ПТСР после задержания; наблюдение у психолога.",
    "Сахарный диабет 1 типа, нужен постоянный инсулин.",
    "Тревожное расстройство, принимает препараты.",
    "Хроническое заболевание почек, нужен регулярный контроль.",
]

SUMMARY = {
    "political": "Преследование за антивоенную позицию: обыск, вызовы на допрос.",
    "religion": "Давление на общину, обыск дома; опасается уголовного дела.",
    "ethnicity": "Задержания и угрозы в регионе происхождения; опасается возвращения.",
    "sogi": "Угрозы со стороны родственников и полиции после аутинга.",
    "military": "Уехал после мобилизации; дома заочно возбуждено уголовное дело.",
    "business": "Уголовное преследование после отказа отдать бизнес; риск экстрадиции.",
    "other": "Домашнее насилие, полиция отказала в защите; нужна помощь с переездом.",
}
KIND_SUMMARY: dict[str, str] = {
    Case.Kind.SUPPORT_LETTER: "Нужно письмо поддержки в {auth}.",
    Case.Kind.ASYLUM_CLAIM: "Сопровождаем заявление в {auth}.",
    Case.Kind.APPEAL: "Готовим материалы для обжалования в {auth}.",
    Case.Kind.RELOCATION: "Нужна помощь с регистрацией в {auth} и жильём.",
    Case.Kind.LEGAL_AID: "Нужна консультация по уголовному делу.",
}

NOTES = [
    "Созвонились в Signal, клиент в безопасности. Следующий звонок через неделю.",
    "Клиент прислал сканы документов, проверили комплектность.",
    "Обсудили подготовку к интервью: хронология событий, даты задержаний.",
    "Нужен перевод справки — отправили волонтёру-переводчику.",
    "Клиент сменил номер; новый номер только для Signal.",
    "Напомнили о сроке подачи, клиент подтвердил.",
    "Письмо поддержки в работе; не хватает копии повестки.",
    "Client asked us not to use email any more: Signal only.",
    "Проверили, что адреса родственников в России нигде не указаны в анкете.",
    "Переслали контакты юриста-партнёра; клиент сам с ним свяжется.",
    "Клиент жалуется на бессонницу; дали контакты психолога.",
]

SAFETY_NOTES = {
    "signal": ["Signal only, never call", "Только Signal, не звонить",
               "Исчезающие сообщения включены", ""],
    "telegram": ["Не писать о деле в Telegram: телефон смотрели на границе",
                 "Только чтобы договориться о звонке", ""],
    "whatsapp": ["Только звонки через WhatsApp, не по обычной связи", ""],
    "phone": ["Use the lawyer's number after 18:00", "Звонить с 10 до 12 по местному времени",
              "Представляться из языковой школы"],
    "email": ["Без подробностей в теме письма", "Only for scans, nothing in the body", ""],
}  # fmt: skip

# Where an authority sits (for event places), which body hears appeals against it, and Russian
# names of countries (prepositional case).
AUTHORITY_PLACE = {
    "ofpra": "Fontenay-sous-Bois", "cnda": "Montreuil", "ta-nancy": "Nancy",
    "bamf": "Nürnberg", "vg-berlin": "Berlin", "uscis": "Asylum Office, Newark",
    "eoir": "Immigration Court, New York", "uk-home-office": "Croydon",
    "unhcr-central-asia": "Алматы", "unhcr-georgia": "Тбилиси", "unhcr-armenia": "Ереван",
    "unhcr-turkiye": "Анкара",
}  # fmt: skip
APPEAL_BODY = {
    "ofpra": ("CNDA", "Montreuil"),
    "bamf": ("VG Berlin", "Berlin"),
    "uscis": ("EOIR", "Immigration Court, New York"),
    "uk-home-office": ("First-tier Tribunal", "London"),
}
COUNTRY_RU = {
    "RU": "России", "KZ": "Казахстане", "GE": "Грузии", "AM": "Армении", "TR": "Турции",
    "RS": "Сербии", "FR": "Франции", "DE": "Германии", "US": "США", "GB": "Великобритании",
}  # fmt: skip
TRANSIT = {
    "KZ": ["Алматы", "Астана", "Уральск"],
    "GE": ["Тбилиси", "Батуми"],
    "AM": ["Ереван", "Гюмри"],
    "TR": ["Стамбул", "Анталья"],
    "RS": ["Белград", "Нови-Сад"],
}
DESTINATION_CITIES = {
    "FR": ["Париж", "Страсбург", "Нанси", "Лион"],
    "DE": ["Берлин", "Мюнхен", "Кёльн", "Лейпциг"],
    "US": ["Нью-Йорк", "Сакраменто", "Чикаго"],
    "GB": ["Лондон", "Манчестер"],
}
KIND_AUTHORITIES: dict[str, list[str | None]] = {
    Case.Kind.SUPPORT_LETTER: ["ofpra", "bamf", "uscis", "uk-home-office", "unhcr-georgia"],
    Case.Kind.ASYLUM_CLAIM: ["ofpra", "bamf", "uscis", "uk-home-office"],
    Case.Kind.APPEAL: ["cnda", "ta-nancy", "vg-berlin", "eoir"],
    Case.Kind.RELOCATION: ["unhcr-central-asia", "unhcr-georgia", "unhcr-armenia",
                           "unhcr-turkiye"],
    Case.Kind.LEGAL_AID: [None, "bamf", "cnda", None, "uscis"],
}  # fmt: skip

# Events to plan for a case in each status: (kind, when, done). "when" is a bucket of days
# relative to today: past, overdue (past and not done), soon (next 14 days), later.
EVENT_PLANS: dict[str, list[tuple[str, str, bool]]] = {
    S.INTAKE: [("submission", "soon", False), ("other", "soon", False),
               ("stay_expiry", "later", False)],
    S.ACTIVE: [("submission", "overdue", False), ("stay_expiry", "later", False),
               ("other", "past", True)],
    S.LETTER_REQUESTED: [("submission", "soon", False), ("interview", "later", False),
                         ("other", "past", True)],
    S.LETTER_ISSUED: [("submission", "past", True), ("interview", "soon", False),
                      ("stay_expiry", "later", False)],
    S.AWAITING_DECISION: [("interview", "past", True), ("stay_expiry", "soon", False),
                          ("other", "later", False), ("submission", "overdue", False)],
    S.GRANTED: [("decision", "past", True), ("interview", "past", True)],
    S.REFUSED: [("decision", "past", True), ("appeal_deadline", "soon", False),
                ("other", "soon", False)],
    S.APPEAL: [("hearing", "later", False), ("appeal_deadline", "past", True),
               ("submission", "soon", False), ("other", "overdue", False)],
    S.CLOSED: [("decision", "past", True), ("other", "past", True)],
}  # fmt: skip
# How long ago a case in this status was opened (days).
OPENED_AGO = {
    S.INTAKE: (3, 20), S.ACTIVE: (20, 90), S.LETTER_REQUESTED: (40, 200),
    S.LETTER_ISSUED: (60, 240), S.AWAITING_DECISION: (90, 360), S.GRANTED: (200, 600),
    S.REFUSED: (150, 500), S.APPEAL: (200, 600), S.CLOSED: (150, 700),
}  # fmt: skip

PDF_HTML = """<!doctype html><html><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 2cm }}
body {{ font-family: "DejaVu Sans"; font-size: 11pt }}
h1 {{ font-size: 16pt }}
</style></head><body>
<h1>Fictional demo document</h1>
<p>Вымышленный демонстрационный документ — не относится к реальному человеку.</p>
<p>{title}</p>
<p>Pristan demo</p>
</body></html>"""


def _gendered(text, female: bool) -> str:
    return text[1 if female else 0] if isinstance(text, tuple) else text


def _cycle(values, n: int, rng: random.Random) -> list:
    """n values that include every value at least once (n ≥ len(values)), shuffled."""
    out = [values[i % len(values)] for i in range(n)]
    rng.shuffle(out)
    return out


@dataclass
class Person:
    female: bool
    family: str
    given: str
    patronymic: str
    alias_fr: str | None
    alias_de: str | None
    group: str
    birth_date: date


@dataclass
class Plan:
    """Everything about one demo case that must be decided before anything is written."""

    index: int
    kind: str
    status: str
    risk: str
    grounds: list[str]
    authority: str | None
    person: Person
    pseudonym: str
    opened_at: date
    volunteer: bool = False
    share: str = ""  # "", "active" or "expired"
    document: tuple[str, str] | None = None  # (kind, title)
    withdraw: str = ""  # purpose of a consent the client withdrew
