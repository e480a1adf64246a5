"""The sample client sheet of docs/: 30 fictional clients in the shape real NGO sheets have.

A merged full-name column (ФИО) with Cyrillic and Latin names, dates typed as text in several
formats (03.04.1990, 1990-04-03, 3/4/1990) beside real date cells, a column Pristan does not
know, the procedure, arrival and decision columns (deadline rules compute appeal and filing
deadlines from them), six rows with errors (an impossible date of birth, an unknown country, a
missing name, a name mixing Cyrillic and Latin letters, a decision Pristan cannot read, an
impossible decision date) and two people entered twice under different spellings. Every person
is invented. The decision dates are fixed (autumn 2026), so their deadlines have passed by now:
the browser journey moves them relative to the day it runs.

    python -m demo.import_sample          # writes docs/import-sample.xlsx and .csv

The tests import the sample (tests/casework/test_import.py) and the browser journey uploads
it (tests/browser/test_journey_import.py); they rely on the facts in ERROR_ROWS and
DUPLICATE_ROWS below.
"""

import csv
import sys
from datetime import datetime
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
HEADERS = [
    "№",
    "ФИО",
    "Латиница",
    "Дата рождения",
    "Пол",
    "Гражданство",
    "Телефон",
    "Страна назначения",
    "Орган",
    "Основания",
    "Статус",
    "Дата обращения",
    "Комментарий",
    "Откуда узнали",
    "Процедура",
    "Дата прибытия",
    "Дата решения",
    "Решение",
]
# A datetime is written as a real date cell in the XLSX (and as 03.04.1990 in the CSV).
D = datetime
ROWS = [
    ("Иванова Мария Петровна", "Ivanova Mariia", "03.04.1990", "ж", "Россия", "+7 900 000-00-01", "Франция", "OFPRA", "политика", "активно", "12.01.2026", "Антивоенные пикеты, два протокола", "Telegram"),  # noqa: E501
    ("Зуганшин Рустам Ильдарович", "Zuganshin Rustam", D(1985, 7, 21), "м", "РФ", "", "Германия", "BAMF", "мобилизация", "Intake", "2026-01-15", "Повестка, уехал через Казахстан", "знакомые"),  # noqa: E501
    ("Петров Иван", "", "1990-04-03", "м", "Russia", "", "France", "OFPRA", "политика", "intake", "15/01/2026", "", ""),  # noqa: E501
    ("Смирнова Ольга Игоревна", "Smirnova Olga", "14.02.1988", "ж", "Россия", "+7 900 000-00-04", "Франция", "CNDA", "ЛГБТ", "апелляция", "20.01.2026", "Отказ OFPRA, готовим апелляцию", "сайт"),  # noqa: E501
    ("Кузьмин Павел", "", "05.11.1979", "м", "Россия", "", "Германия", "BAMF", "религия", "", "21.01.2026", "Свидетель Иеговы", ""),  # noqa: E501
    ("Novak Anna", "", "3/4/1992", "f", "Belarus", "", "Germany", "BAMF", "political", "active", "2026-01-22", "Protest 2020, detained", "партнёры"),  # noqa: E501
    ("Ахмедов Тимур Рашидович", "Akhmedov Timur", "17.09.1995", "м", "Россия, Таджикистан", "", "США", "USCIS", "этническая принадлежность", "", "23.01.2026", "", ""),  # noqa: E501
    ("Васильева Екатерина", "Vasileva Ekaterina", D(1993, 12, 1), "ж", "Россия", "", "Великобритания", "UK Home Office", "политика; ЛГБТ", "", "24.01.2026", "", ""),  # noqa: E501
    ("Орлов Дмитрий Сергеевич", "", "31.02.1990", "м", "Россия", "", "Франция", "OFPRA", "мобилизация", "", "25.01.2026", "Дата рождения с ошибкой", ""),  # noqa: E501
    ("Фёдорова Алина", "Fedorova Alina", "08.08.1998", "ж", "Московия", "", "Германия", "BAMF", "ЛГБТ", "", "26.01.2026", "Страна с ошибкой", ""),  # noqa: E501
    ("", "", "01.01.1980", "м", "Россия", "", "Франция", "OFPRA", "политика", "", "27.01.2026", "ФИО не заполнено", ""),  # noqa: E501
    ("Сидоров Никита Андреевич", "Sidorov Nikita", "1987-06-30", "м", "Россия", "", "Грузия", "UNHCR Georgia", "мобилизация", "", "28.01.2026", "", "Telegram"),  # noqa: E501
    ("Ивaнов Сергей", "", "12.12.1984", "м", "Россия", "", "Армения", "UNHCR Armenia", "политика", "", "29.01.2026", "В фамилии латинская «a»", ""),  # noqa: E501
    ("Морозова Дарья Викторовна", "Morozova Daria", D(1991, 5, 9), "ж", "Россия", "", "Франция", "OFPRA", "религия", "", "30.01.2026", "", ""),  # noqa: E501
    ("Smirnova Olga", "", "1988-02-14", "f", "Russia", "", "France", "CNDA", "LGBT", "appeal", "2026-02-02", "Same person as row 5, Latin spelling", "сайт"),  # noqa: E501
    ("Лебедев Артём", "Lebedev Artem", "22.03.1996", "м", "Россия", "", "Германия", "VG Berlin", "мобилизация", "", "03.02.2026", "", ""),  # noqa: E501
    ("Козлова Наталья Олеговна", "", "7/10/1983", "ж", "Беларусь", "", "Литва", "", "политика", "", "04.02.2026", "", ""),  # noqa: E501
    ("Новиков Кирилл", "Novikov Kirill", "19.01.2000", "м", "Россия", "", "США", "NY Broadway Immigration Court", "мобилизация", "", "05.02.2026", "Слушание в суде", ""),  # noqa: E501
    ("Соколова Вера", "Sokolova Vera", "1975-10-10", "ж", "Казахстан", "", "Германия", "BAMF", "религия", "", "06.02.2026", "", ""),  # noqa: E501
    ("КУЗЬМИН ПАВЕЛ ОЛЕГОВИЧ", "", "5/11/1979", "м", "Россия", "", "Германия", "BAMF", "религия", "", "07.02.2026", "Похоже, тот же, что в строке 6", ""),  # noqa: E501
    ("Попов Андрей Николаевич", "Popov Andrei", "11.11.1989", "м", "Россия", "", "Франция", "OFPRA", "бизнес", "", "09.02.2026", "Рейдерский захват", ""),  # noqa: E501
    ("Волкова Марина", "", D(1994, 2, 28), "ж", "Россия", "", "Грузия", "UNHCR Georgia", "ЛГБТ", "", "10.02.2026", "", ""),  # noqa: E501
    ("Gasparyan Arman", "", "1986-08-16", "m", "Armenia", "", "France", "OFPRA", "ethnicity", "", "2026-02-11", "", ""),  # noqa: E501
    ("Егорова Светлана Павловна", "Egorova Svetlana", "02.06.1981", "ж", "Россия", "", "Великобритания", "UK Home Office", "политика", "", "12.02.2026", "", ""),  # noqa: E501
    ("Мельников Олег", "Melnikov Oleg", "1999-12-24", "м", "Россия", "", "Турция", "UNHCR Türkiye", "мобилизация", "", "13.02.2026", "", ""),  # noqa: E501
    ("Захарова Ирина", "", "29.07.1977", "ж", "Россия", "", "Франция", "OFPRA", "религия", "", "16.02.2026", "", ""),  # noqa: E501
    ("Hasanov Elnur", "", "4/9/1993", "m", "Azerbaijan", "", "Germany", "BAMF", "political", "", "2026-02-17", "", ""),  # noqa: E501
    ("Белова Ксения Игоревна", "Belova Kseniia", "18.05.1997", "ж", "Россия", "", "Казахстан", "UNHCR Central Asia", "ЛГБТ", "", "18.02.2026", "", ""),  # noqa: E501
    ("Тихонов Григорий", "", "1982-01-05", "м", "Россия", "", "США", "USCIS", "политика", "", "19.02.2026", "", ""),  # noqa: E501
    ("Крылова Полина", "Krylova Polina", "09.09.2001", "ж", "Россия", "", "Франция", "OFPRA", "политика", "", "20.02.2026", "", ""),  # noqa: E501
]  # fmt: skip

# The columns added later in the sheet's life, as NGO sheets grow: the procedure (which gives
# the case its checklist), the arrival date (the US one-year rule counts from it), the date of
# the decision and what it said (the appeal deadlines count from it). Row number → values.
LATER_COLUMNS = {
    2: ("OFPRA", "", "14.10.2026", "отказ"),
    3: ("BAMF", "", D(2026, 11, 2), "offensichtlich unbegründet"),
    5: ("Апелляция в CNDA", "", "", ""),
    6: ("", "", "2026-10-20", "отказано"),
    7: ("BAMF hearing", "", "", ""),
    8: ("I-589", "15.03.2026", "", ""),
    9: ("", "", "05.11.2026", "refused"),
    15: ("OFPRA", "", "01.09.2026", "положительное"),
    19: ("", "", "1/10/2026", "rejected"),
    20: ("", "", "", "ждём ответа"),
    22: ("OFPRA", "", "31.09.2026", "отказ"),
    28: ("BAMF", "", "2026-11-16", "abgelehnt"),
    30: ("USCIS I-589", "10.01.2026", "", ""),
    31: ("OFPRA", "", "", ""),
}

# Row numbers as the spreadsheet shows them (the header is row 1).
ERROR_ROWS = {
    10: "date",
    11: "country",
    12: "name",
    14: "mixed script",
    20: "unknown decision",
    22: "decision date",
}
DUPLICATE_ROWS = {16: 5, 21: 6}  # row → the earlier row it repeats
# The rows whose decision or arrival a shipped deadline rule covers: each gets a deadline.
DEADLINE_ROWS = {
    2: "CNDA appeal",
    3: "Action at the Verwaltungsgericht (manifestly unfounded)",
    6: "Action at the Verwaltungsgericht",
    8: "One-year asylum filing deadline",
    9: "Appeal to the First-tier Tribunal",
    19: "Appeal to the Board of Immigration Appeals",
    28: "Action at the Verwaltungsgericht",
    30: "One-year asylum filing deadline",
}
# The rows that name a procedure, and so get its checklist (when they are imported).
PROCEDURE_ROWS = {
    2: "OFPRA asylum claim",
    3: "BAMF hearing",
    5: "CNDA appeal",
    7: "BAMF hearing",
    8: "USCIS Form I-589 filing",
    15: "OFPRA asylum claim",
    22: "OFPRA asylum claim",
    28: "BAMF hearing",
    30: "USCIS Form I-589 filing",
    31: "OFPRA asylum claim",
}


def rows() -> list[list[object]]:
    return [
        [str(i), *row, *LATER_COLUMNS.get(i + 1, ("", "", "", ""))]
        for i, row in enumerate(ROWS, start=1)
    ]


def _text(value: object) -> str:
    return value.strftime("%d.%m.%Y") if isinstance(value, datetime) else str(value)


WIDTHS = (4, 30, 20, 14, 5, 18, 18, 18, 16, 24, 10, 14, 36, 14, 20, 14, 14, 26)


def write_xlsx(path: Path, data: list[list[object]] | None = None) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Клиенты"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows() if data is None else data:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, datetime):
                cell.number_format = "DD.MM.YYYY"
    for column, width in zip("ABCDEFGHIJKLMNOPQR", WIDTHS, strict=True):
        sheet.column_dimensions[column].width = width
    workbook.save(path)
    return path


def csv_bytes(data: list[list[object]] | None = None, *, encoding: str = "utf-8-sig") -> bytes:
    """The same sheet as a CSV, ";" between cells, as Russian-locale Excel saves it."""
    lines = [HEADERS, *([_text(v) for v in row] for row in (rows() if data is None else data))]
    out = []
    for line in lines:
        buffer = _Buffer()
        csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerow(line)
        out.append(buffer.text)
    return "".join(out).encode(encoding)


class _Buffer:
    text = ""

    def write(self, chunk: str) -> None:
        self.text += chunk


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    write_xlsx(DOCS / "import-sample.xlsx")
    (DOCS / "import-sample.csv").write_bytes(csv_bytes())
    sys.stdout.write(f"wrote {DOCS / 'import-sample.xlsx'} and {DOCS / 'import-sample.csv'}\n")


if __name__ == "__main__":
    main()
