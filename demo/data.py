"""The demo's fixed tables: the organisation, its staff, the groups the fictional clients are
drawn from, their stories' wordings, and the plans of the cases' events. Everything here is
invented (see demo.builders for how it is combined)."""

import random
import re
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

ORGANISATION = {
    "name": "Пристань — комитет помощи беженцам (demo)",
    "short_name": "Pristan demo",
    "address": "Пристанский переулок, д. 13, офис 4\n101000 Москва\nРоссия",
    "email": "pristan-demo@example.org",
    "phone": "+7 495 000-00-00",
    "website": "https://pristan-demo.example.org/",
}

# How the organisation presents itself in letters of each language (letters.OrganisationIdentity).
# The legal form reads inside a sentence: "… (organisation autonome …, OGRN …) apporte …".
_REGISTRATION = "1237700099013"  # fictional
IDENTITIES: dict[str, dict[str, str | bool]] = {
    "ru": {
        "name": "Пристань — комитет помощи беженцам (demo)",
        "legal_form": "автономная некоммерческая организация",
        "registration": f"ОГРН {_REGISTRATION}",
        "address": "Пристанский переулок, д. 13, офис 4\n101000 Москва\nРоссия",
    },
    "en": {
        "name": "Pristan Refugee Assistance Committee (demo)",
        "legal_form": "autonomous non-profit entity under Russian law",
        "registration": f"OGRN {_REGISTRATION}",
        "address": "Pristansky pereulok 13, office 4\n101000 Moscow\nRussia",
    },
    "fr": {
        "name": "Comité d'aide aux réfugiés Pristan (démo)",
        "legal_form": "organisation autonome à but non lucratif de droit russe",
        "registration": f"OGRN {_REGISTRATION}",
        "address": "Pristansky pereulok 13, bureau 4\n101000 Moscou\nRussie",
        "show_russian_name": True,
    },
    "de": {
        "name": "Flüchtlingshilfekomitee Pristan (Demo)",
        "legal_form": "autonome Non-Profit-Organisation nach russischem Recht",
        "registration": f"OGRN {_REGISTRATION}",
        "address": "Pristansky pereulok 13, Büro 4\n101000 Moskau\nRussland",
        "show_russian_name": True,
    },
}
# The people who sign the letters (fictional). Titles read after "En ma qualité de …",
# "als … der Organisation", "in my capacity as … of"; the layout capitalises them under the
# signature.
SIGNERS: list[dict[str, str | bool]] = [
    {
        "name_latin": "Vera Lanskaia",
        "name_cyrillic": "Вера Андреевна Ланская",
        "title_ru": "председатель комитета",
        "title_en": "Chair",
        "title_fr": "présidente",
        "title_de": "Vorsitzende",
        "is_default": True,
    },
    {
        "name_latin": "Mikhail Orekhov",
        "name_cyrillic": "Михаил Юрьевич Орехов",
        "title_ru": "заместитель председателя комитета",
        "title_en": "Deputy Chair",
        "title_fr": "vice-président",
        "title_de": "stellvertretender Vorsitzender",
    },
]


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

# The coordinator's message with a demo referral to the partner lawyer (fictional).
DEMO_REFERRAL_MESSAGE = (
    "Appeal deadline approaching; the client needs representation at the hearing. "
    "Please look at the decision and the checklist."
)

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
    "eoir": "Falls Church, VA", "eoir-ny-broadway": "290 Broadway, New York",
    "eoir-sf": "100 Montgomery Street, San Francisco", "uk-home-office": "Croydon",
    "unhcr-central-asia": "Алматы", "unhcr-georgia": "Тбилиси", "unhcr-armenia": "Ереван",
    "unhcr-turkiye": "Анкара",
}  # fmt: skip
APPEAL_BODY = {
    "ofpra": ("CNDA", "Montreuil"),
    "bamf": ("VG Berlin", "Berlin"),
    "uscis": ("NY Broadway Immigration Court", "290 Broadway, New York"),
    "uk-home-office": ("First-tier Tribunal", "London"),
}
# The shipped procedure (casework.defaults) a case before each authority goes through.
PROCEDURE_FOR_AUTHORITY = {
    "ofpra": "OFPRA asylum claim",
    "cnda": "CNDA appeal",
    "bamf": "BAMF hearing",
    "uscis": "USCIS Form I-589 filing",
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
    Case.Kind.APPEAL: ["cnda", "ta-nancy", "vg-berlin", "eoir-ny-broadway", "eoir-sf"],
    Case.Kind.RELOCATION: ["unhcr-central-asia", "unhcr-georgia", "unhcr-armenia",
                           "unhcr-turkiye"],
    Case.Kind.LEGAL_AID: [None, "bamf", "eoir", None, "cnda"],
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
    gender: str = ""  # Client.Gender: set from person.female, neutral for a few


# --- Letters: what the demo cases put before an authority ----------------------------------------

# Statements for letters (casework.CaseStatement), by ground and language: fictional and generic,
# two paragraphs. "{name}" is the client's name as letters in that language write it, "{year}"
# the year they left; "[m|f|x]" are the words that follow the client's gender, x for the neutral
# form ("x" or unknown). French, German and English avoid agreement by naming the person; Russian
# verbs agree, so the neutral form speaks of "заявитель".
STATEMENTS: dict[str, dict[str, str]] = {
    "political": {
        "fr": "{name} participe depuis plusieurs années à des actions pacifiques contre la guerre "
        "et a observé des élections locales pour le compte d'une association indépendante. En "
        "{year}, la police a interpellé {name} à deux reprises lors de rassemblements pacifiques ; "
        "à chaque fois, un procès-verbal pour « discrédit des forces armées » a été dressé.\n\n"
        "Quelques semaines plus tard, des agents ont perquisitionné le domicile familial et saisi "
        "ordinateurs et téléphones. Une convocation à une audition dans une procédure pénale a "
        "ensuite été remise aux parents de {name}. Par crainte de poursuites pénales, {name} a "
        "quitté le pays la même année.",
        "de": "{name} beteiligt sich seit Jahren an friedlichen Protesten gegen den Krieg und hat "
        "für eine unabhängige Initiative Wahlen beobachtet. Im Jahr {year} wurde {name} zweimal "
        "bei friedlichen Kundgebungen festgenommen; jedes Mal wurde ein Verfahren wegen "
        "„Diskreditierung der Streitkräfte“ eingeleitet.\n\n"
        "Wenige Wochen später durchsuchten Beamte die Wohnung der Familie und beschlagnahmten "
        "Computer und Telefone. Den Eltern von {name} wurde anschließend eine Vorladung zur "
        "Vernehmung in einem Strafverfahren übergeben. Aus Angst vor strafrechtlicher Verfolgung "
        "verließ {name} noch im selben Jahr das Land.",
        "en": "{name} has taken part in peaceful anti-war protests for several years and has "
        "observed local elections for an independent monitoring group. In {year}, police "
        "detained [him|her|{name}] twice at peaceful rallies and each time brought an "
        "administrative charge of “discrediting the armed forces” against [him|her|{name}].\n\n"
        "A few weeks later, officers searched the family home and seized computers and phones. A "
        "summons to be questioned in a criminal case was then delivered to {name}'s parents. "
        "Fearing criminal prosecution, {name} left the country the same year.",
        "ru": "{subj} несколько лет [участвовал|участвовала|участвовал] в мирных антивоенных "
        "акциях и [наблюдал|наблюдала|наблюдал] за местными выборами от независимого движения. "
        "В {year} г. полиция дважды задерживала [его|её|заявителя] на мирных акциях; каждый раз "
        "составлялся протокол о «дискредитации вооружённых сил».\n\n"
        "Через несколько недель в квартире семьи провели обыск, изъяли компьютеры и телефоны. "
        "Затем родителям [заявителя|заявительницы|заявителя] передали повестку на допрос по "
        "уголовному делу. Опасаясь уголовного преследования, [он|она|заявитель] в том же году "
        "[уехал|уехала|уехал] из страны.",
    },
    "religion": {
        "fr": "{name} est membre d'une communauté religieuse que les autorités ont déclarée "
        "« extrémiste » et interdite. Les réunions de prière se tenaient au domicile de "
        "fidèles.\n\n"
        "En {year}, des agents ont perquisitionné le domicile de {name} et saisi des ouvrages "
        "religieux. Plusieurs membres de la communauté font aujourd'hui l'objet de poursuites "
        "pénales. Lors d'un entretien dit « de prévention », un agent a averti {name} qu'une "
        "procédure pénale suivrait si les réunions continuaient. {name} a quitté le pays peu "
        "après.",
        "de": "{name} gehört einer Religionsgemeinschaft an, die von den Behörden als "
        "„extremistisch“ eingestuft und verboten wurde. Die Gottesdienste fanden in den "
        "Wohnungen von Gemeindemitgliedern statt.\n\n"
        "Im Jahr {year} durchsuchten Beamte die Wohnung von {name} und beschlagnahmten religiöse "
        "Schriften. Gegen mehrere Gemeindemitglieder laufen inzwischen Strafverfahren. Bei einem "
        "sogenannten „Präventivgespräch“ wurde {name} gewarnt, dass ein Strafverfahren folgen "
        "werde, wenn die Treffen fortgesetzt würden. Kurz darauf verließ {name} das Land.",
        "en": "{name} belongs to a religious community that the authorities have declared "
        "“extremist” and banned. Its members met for worship in private homes.\n\n"
        "In {year}, officers searched {name}'s home and seized religious literature. Several "
        "members of the community now face criminal charges. At a so-called “preventive "
        "conversation” with the police, {name} was warned that criminal proceedings would "
        "follow if the meetings continued. {name} left the country shortly afterwards.",
        "ru": "{subj} состоит в религиозной общине, которую власти признали «экстремистской» и "
        "запретили. Собрания общины проходили в квартирах верующих.\n\n"
        "В {year} г. у [него|неё|заявителя] дома провели обыск и изъяли религиозную литературу. "
        "Против нескольких членов общины возбуждены уголовные дела. На так называемой "
        "«профилактической беседе» [его|её|заявителя] предупредили, что, если собрания "
        "продолжатся, последует уголовное дело. Вскоре после этого [он|она|заявитель] "
        "[уехал|уехала|уехал] из страны.",
    },
    "ethnicity": {
        "fr": "{name} appartient à une minorité ethnique et religieuse de la Fédération de "
        "Russie. Dans la région d'origine de {name}, les contrôles d'identité ciblés, les "
        "détentions sans motif et les pressions pour obtenir des témoignages sont fréquents.\n\n"
        "En {year}, la police a retenu {name} pendant deux jours sans procès-verbal ; des agents "
        "ont exigé des déclarations contre des voisins et menacé la famille. Après une nouvelle "
        "convocation, {name} a quitté la région, puis le pays.",
        "de": "{name} gehört einer ethnischen und religiösen Minderheit der Russischen Föderation "
        "an. In der Herkunftsregion sind gezielte Personenkontrollen, Festnahmen ohne Anlass und "
        "Druck zur Erzwingung von Aussagen verbreitet.\n\n"
        "Im Jahr {year} hielt die Polizei {name} zwei Tage lang ohne Protokoll fest; Beamte "
        "verlangten belastende Aussagen gegen Nachbarn und bedrohten die Familie. Nach einer "
        "erneuten Vorladung verließ {name} zunächst die Region und dann das Land.",
        "en": "{name} belongs to an ethnic and religious minority of the Russian Federation. In "
        "the region {name} comes from, targeted identity checks, detention without grounds and "
        "pressure to obtain testimony are common.\n\n"
        "In {year}, police held {name} for two days without any record of the detention. "
        "Officers demanded statements incriminating other residents and threatened the family. "
        "After a further summons, {name} left the region and then the country.",
        "ru": "{subj} [принадлежит|принадлежит|принадлежит] к этническому и религиозному "
        "меньшинству Российской Федерации. В регионе, откуда [он|она|заявитель] родом, "
        "распространены адресные проверки документов, задержания без оснований и давление с "
        "целью получить показания.\n\n"
        "В {year} г. полиция двое суток удерживала [его|её|заявителя] без протокола; от "
        "[него|неё|заявителя] требовали показаний против соседей и угрожали семье. После новой "
        "повестки [он|она|заявитель] [уехал|уехала|уехал] сначала из региона, а затем из "
        "страны.",
    },
    "sogi": {
        "fr": "{name} fait partie de la communauté LGBT+ et ne s'en était ouvert qu'à quelques "
        "proches.\n\n"
        "En {year}, l'orientation sexuelle de {name} a été divulguée dans un groupe de messagerie "
        "local ; des membres de la famille ont alors proféré des menaces de mort. La police a "
        "refusé d'enregistrer la plainte et a tenu des propos humiliants. Depuis que la loi "
        "qualifie le « mouvement LGBT » d'extrémiste, toute visibilité expose à des poursuites "
        "pénales.",
        "de": "{name} gehört der LGBT+-Gemeinschaft an und hatte sich nur wenigen Vertrauten "
        "gegenüber offenbart.\n\n"
        "Im Jahr {year} wurde die sexuelle Orientierung von {name} in einer örtlichen "
        "Messenger-Gruppe öffentlich gemacht; Familienangehörige drohten daraufhin mit dem Tod. "
        "Die Polizei weigerte sich, eine Anzeige aufzunehmen, und äußerte sich herabwürdigend. "
        "Seit ein Gesetz die „LGBT-Bewegung“ als extremistisch einstuft, setzt jede Sichtbarkeit "
        "der Gefahr strafrechtlicher Verfolgung aus.",
        "en": "{name} is part of the LGBT+ community and had confided in only a few close "
        "friends.\n\n"
        "In {year}, {name}'s sexual orientation was disclosed in a local messaging group, after "
        "which relatives made death threats. The police refused to register a complaint and made "
        "degrading remarks. Since the law declared the “LGBT movement” extremist, any visibility "
        "exposes a person to criminal prosecution.",
        "ru": "{subj} [принадлежит|принадлежит|принадлежит] к ЛГБТ+-сообществу и "
        "[рассказывал|рассказывала|рассказывал] об этом лишь немногим близким людям.\n\n"
        "В {year} г. сведения о сексуальной ориентации [клиента|клиентки|заявителя] были "
        "опубликованы в местном чате, после чего родственники стали угрожать [ему|ей|заявителю] "
        "убийством. Полиция отказалась принять заявление и допускала унизительные "
        "высказывания. После признания «ЛГБТ-движения» экстремистским любая открытость грозит "
        "уголовным преследованием.",
    },
    "military": {
        "fr": "En {year}, {name} a reçu un ordre de mobilisation. Refusant de prendre part à une "
        "guerre contraire au droit international, {name} n'a pas donné suite à la convocation et "
        "a quitté le pays.\n\n"
        "Une procédure pénale pour soustraction au service militaire a depuis été ouverte, et "
        "une convocation a été remise aux parents de {name}. En cas de retour, {name} risquerait "
        "une peine d'emprisonnement et un envoi forcé au front.",
        "de": "Im Jahr {year} erhielt {name} einen Einberufungsbescheid im Rahmen der "
        "Mobilmachung. Da [er|sie|{name}] die Teilnahme an einem völkerrechtswidrigen Krieg "
        "ablehnt, folgte [er|sie|{name}] der Einberufung nicht und verließ das Land.\n\n"
        "Inzwischen wurde ein Strafverfahren wegen Entziehung vom Wehrdienst eingeleitet; den "
        "Eltern von {name} wurde eine Vorladung übergeben. Bei einer Rückkehr drohen "
        "[ihm|ihr|{name}] eine Freiheitsstrafe und der zwangsweise Einsatz an der Front.",
        "en": "In {year}, {name} received a call-up notice. Refusing to take part in a war that "
        "violates international law, {name} did not report for service and left the country.\n\n"
        "A criminal case for evading military service has since been opened, and a summons was "
        "delivered to {name}'s parents. If returned, {name} would face imprisonment and forced "
        "deployment to the front.",
        "ru": "В {year} г. [{name}|{name}|заявитель] [получил|получила|получил] повестку о "
        "мобилизации. Отказываясь участвовать в войне, нарушающей нормы международного права, "
        "[он|она|заявитель] не [явился|явилась|явился] по повестке и [уехал|уехала|уехал] из "
        "страны.\n\n"
        "С тех пор возбуждено уголовное дело об уклонении от военной службы, повестку вручили "
        "родителям. В случае возвращения [ему|ей|заявителю] грозят лишение свободы и "
        "принудительная отправка на фронт.",
    },
    "business": {
        "fr": "{name} dirigeait une petite entreprise de transport. En {year}, des personnes "
        "liées à l'administration locale ont exigé la cession de parts de l'entreprise ; {name} "
        "a refusé.\n\n"
        "Peu après, une procédure pénale pour « escroquerie » a été ouverte sur la base de "
        "documents dont {name} conteste l'authenticité. Les comptes de l'entreprise ont été "
        "bloqués et des proches ont été interrogés. Un procès équitable ne peut être espéré dans "
        "une affaire où les plaignants bénéficient de protections au sein des autorités.",
        "de": "{name} führte ein kleines Transportunternehmen. Im Jahr {year} verlangten Personen "
        "mit Verbindungen zur örtlichen Verwaltung die Abtretung von Geschäftsanteilen; {name} "
        "lehnte ab.\n\n"
        "Kurz darauf wurde auf der Grundlage von Unterlagen, deren Echtheit {name} bestreitet, ein "
        "Strafverfahren wegen „Betrugs“ eingeleitet. Die Konten des Unternehmens wurden gesperrt "
        "und Angehörige vernommen. Ein faires Verfahren ist nicht zu erwarten, da die "
        "Anzeigeerstatter in den Behörden Rückhalt haben.",
        "en": "{name} ran a small transport company. In {year}, people connected to the local "
        "administration demanded that {name} hand over a share of the business; {name} "
        "refused.\n\n"
        "Shortly afterwards, a criminal case for “fraud” was opened on the basis of documents "
        "that {name} disputes. The company's accounts were frozen and relatives were questioned. "
        "A fair trial cannot be expected in a case where the complainants enjoy protection "
        "within the authorities.",
        "ru": "{subj} [руководил|руководила|руководил] небольшой транспортной компанией. В {year} "
        "г. люди, связанные с местной администрацией, потребовали переоформить на них долю в "
        "бизнесе; [он|она|заявитель] [отказался|отказалась|отказался].\n\n"
        "Вскоре было возбуждено уголовное дело о «мошенничестве» на основании документов, "
        "подлинность которых [он|она|заявитель] оспаривает. Счета компании заблокированы, "
        "родственников допрашивали. Рассчитывать на справедливый суд не приходится: у "
        "потерпевшей стороны есть покровители в органах власти.",
    },
    "other": {
        "fr": "Pendant plusieurs années, {name} a subi des violences de la part d'un membre de la "
        "famille. Les plaintes déposées auprès de la police n'ont pas été enregistrées ou ont "
        "été classées sans suite.\n\n"
        "En {year}, après une nouvelle agression, {name} a quitté le domicile. L'auteur des "
        "violences cherche toujours à savoir où {name} se trouve, et aucune mesure de protection "
        "effective n'existe dans le pays d'origine.",
        "de": "{name} war über Jahre hinweg Gewalt durch ein Familienmitglied ausgesetzt. "
        "Anzeigen bei der Polizei wurden nicht aufgenommen oder ohne Ermittlungen eingestellt.\n\n"
        "Im Jahr {year} verließ {name} nach einem erneuten Übergriff die gemeinsame Wohnung. Der "
        "Täter versucht weiterhin herauszufinden, wo sich {name} aufhält; wirksamen Schutz gibt "
        "es im Herkunftsland nicht.",
        "en": "For several years, {name} suffered violence at the hands of a family member. "
        "Complaints to the police were either not registered or closed without "
        "investigation.\n\n"
        "In {year}, after a further assault, {name} left the shared home. The perpetrator keeps "
        "trying to find out where {name} lives, and no effective protection is available in the "
        "country of origin.",
        "ru": "{subj} несколько лет [подвергался|подвергалась|подвергался] насилию со стороны "
        "члена семьи. Заявления в полицию не регистрировали или закрывали без проверки.\n\n"
        "В {year} г., после очередного нападения, [он|она|заявитель] [ушёл|ушла|ушёл] из дома. "
        "Обидчик продолжает выяснять, где [он|она|заявитель] находится, а действенной защиты в "
        "стране происхождения нет.",
    },
}
_GENDER_WORDS = re.compile(r"\[([^\[\]|]*)\|([^\[\]|]*)\|([^\[\]|]*)\]")


def statement_text(ground: str, language: str, *, gender: str, name: str, year: int) -> str:
    """The statement of a ground in one language, written for this person."""
    form = {"m": 1, "f": 2}.get(gender, 3)
    text = _GENDER_WORDS.sub(lambda m: m.group(form), STATEMENTS[ground][language])
    subject = name if gender in ("m", "f") else "Заявитель"
    return text.replace("{subj}", subject).replace("{name}", name).replace("{year}", str(year))


# Immigration judges of the demo (fictional).
JUDGES = ["Laura Whitcomb", "Samuel Prentiss", "Helen Marquardt", "Daniel Okafor"]
# UNHCR registration numbers start with the office's country.
UNHCR_PREFIX = {
    "unhcr-central-asia": "KAZ",
    "unhcr-georgia": "GEO",
    "unhcr-armenia": "ARM",
    "unhcr-turkiye": "TUR",
}
# Why the demo's one revoked letter was revoked.
REVOCATION_REASON = (
    "Issued before the client had confirmed the statement; withdrawn at their request."
)


# --- The facts about a person (casework.Client interpreter, vulnerabilities, contact safety) ---

# The interpreter's language: the client's first language (casework.Client.InterpreterLanguage);
# languages not in that list go in as "other" with their name.
INTERPRETER_CODES = {
    "Russian": "ru", "Chechen": "ce", "Avar": "av", "Ingush": "inh", "Tatar": "tt",
    "Ukrainian": "uk", "Belarusian": "be", "Kazakh": "kk", "Uzbek": "uz", "Tajik": "tg",
}  # fmt: skip
DIALECTS = {
    "ce": ["Cheberloi dialect", "Plain Chechen; little Russian"],
    "uz": ["Fergana dialect"],
    "tg": ["Northern (Khujand) dialect"],
    "tt": ["Mishar dialect"],
}
# Vulnerabilities (codes of casework.Client.Vulnerability) and a note, for some clients.
VULNERABILITIES = [
    (["torture_survivor"], "Medical report of an Istanbul Protocol examination obtained; needs "
     "breaks in long interviews."),
    (["mental_health", "torture_survivor"], "Sees a psychologist weekly; avoid evening calls."),
    (["single_parent"], "Two children under 10; appointments only in school hours."),
    (["pregnancy"], "Due in spring; no travel to interviews in the last month."),
    (["serious_illness"], "Needs regular treatment; keep the clinic's letter on file."),
    (["sgbv_survivor", "mental_health"], "Asks for a woman interpreter and caseworker."),
    (["disability"], "Uses a wheelchair: check that interview rooms are accessible."),
    (["minor", "unaccompanied_minor"], "17 years old; a guardian is being appointed."),
    (["elderly"], "Hard of hearing: speak slowly, confirm in writing."),
]  # fmt: skip
IDENTITY_PHRASES = [
    "Как там погода в Казани?", "Привет от тёти Веры", "The blue notebook",
    "Вы из языковой школы?", "Передайте привет Марату", "Le chat est sur la table",
]  # fmt: skip
# What each demo safety note (SAFETY_NOTES) allows on its channel: ContactChannel.may_* fields.
SAFE_USES = {
    "Signal only, never call": ["may_text"],
    "Только Signal, не звонить": ["may_text"],
    "Не писать о деле в Telegram: телефон смотрели на границе": [],
    "Только чтобы договориться о звонке": ["may_text"],
    "Только звонки через WhatsApp, не по обычной связи": ["may_call"],
    "Use the lawyer's number after 18:00": [],
    "Звонить с 10 до 12 по местному времени": ["may_call"],
    "Представляться из языковой школы": ["may_call"],
    "Без подробностей в теме письма": ["may_email"],
    "Only for scans, nothing in the body": ["may_email"],
}
SAFE_USES_WITHOUT_NOTE = {
    "signal": ["may_call", "may_text"],
    "telegram": ["may_text"],
    "whatsapp": ["may_call", "may_text"],
    "email": ["may_email"],
}
