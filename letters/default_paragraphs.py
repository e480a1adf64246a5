"""The shared paragraphs shipped with Pristan, and their loader (a data migration).

They show what the library is for; they are not legal advice or vetted country-of-origin
information. Their sources say so on the first line ("fictional demo — confirm before use"):
an administrator checks every statement against the current version of each source, then
changes the date of the check. They are written generically and only cite documents by title.
"""

from datetime import date

CHECKED_ON = date(2026, 12, 1)
DEMO_NOTE = (
    "Fictional demo — confirm before use: check every statement against the current "
    "version of each source before inserting this paragraph into a letter."
)

_MOSCOW_MECHANISM_2022 = (
    "OSCE Moscow Mechanism: Report on Russia's Legal and Administrative Practice in Light of "
    "its OSCE Human Dimension Commitments (rapporteur Angelika Nußberger, September 2022), "
    "osce.org"
)
_CCPR_2022 = (
    "UN Human Rights Committee, Concluding observations on the eighth periodic report of the "
    "Russian Federation (CCPR/C/RUS/CO/8, 2022), ohchr.org"
)
_SPECIAL_RAPPORTEUR = (
    "Reports of the UN Special Rapporteur on the situation of human rights in the Russian "
    "Federation to the Human Rights Council (since 2023), ohchr.org"
)

DEFAULT_PARAGRAPHS: list[dict] = [
    {
        "title": "Russie : objecteurs de conscience, mobilisation et désertion",
        "language": "fr",
        "grounds": ["military"],
        "origin_countries": ["RU"],
        "destination_countries": ["FR"],
        "text": (
            "Depuis le décret présidentiel n° 647 du 21 septembre 2022 annonçant une "
            "« mobilisation partielle », les hommes en âge de servir en Fédération de Russie "
            "peuvent être appelés à participer aux opérations militaires en Ukraine ; ce décret "
            "n'a pas été formellement abrogé. En septembre 2022, le code pénal russe a été "
            "durci : l'absence non autorisée, la désertion et le refus de participer aux "
            "hostilités en période de mobilisation ou de loi martiale sont passibles de "
            "plusieurs années d'emprisonnement, et la « reddition volontaire » est devenue une "
            "infraction distincte. Depuis avril 2023, les convocations peuvent être notifiées "
            "par voie électronique, et la personne qui ne s'y présente pas peut notamment se "
            "voir interdire de quitter le territoire.\n\n"
            "La Constitution (article 59, alinéa 3) et la loi fédérale n° 113-FZ du 25 juillet "
            "2002 prévoient un service civil de remplacement. Des organisations de défense des "
            "droits humains rapportent toutefois que ce droit est difficile à faire valoir en "
            "pratique, en particulier pour les personnes déjà mobilisées ou sous contrat, et "
            "que des demandes ont été rejetées. Des organes internationaux de protection des "
            "droits humains font état de détentions et de poursuites pénales visant des "
            "militaires qui ont refusé de combattre."
        ),
        "sources": [
            "Décret du Président de la Fédération de Russie n° 647 du 21 septembre 2022 "
            "« sur l'annonce d'une mobilisation partielle »",
            "Loi fédérale du 24 septembre 2022 modifiant le code pénal de la Fédération de "
            "Russie (mobilisation, loi martiale, temps de guerre)",
            "Loi fédérale n° 113-FZ du 25 juillet 2002 « sur le service civil de remplacement »",
            _CCPR_2022,
            _SPECIAL_RAPPORTEUR,
            _MOSCOW_MECHANISM_2022,
            "Rapports de l'Agence de l'Union européenne pour l'asile (EUAA) sur la Fédération "
            "de Russie (service militaire), euaa.europa.eu",
        ],
    },
    {
        "title": "Russische Föderation: Kriegsdienstverweigerer, Mobilmachung und Desertion",
        "language": "de",
        "grounds": ["military"],
        "origin_countries": ["RU"],
        "destination_countries": ["DE"],
        "text": (
            "Mit dem Präsidialerlass Nr. 647 vom 21. September 2022 wurde in der Russischen "
            "Föderation eine „Teilmobilmachung“ angeordnet; der Erlass ist nicht förmlich "
            "aufgehoben worden. Im September 2022 wurde das russische Strafgesetzbuch "
            "verschärft: Eigenmächtiges Entfernen von der Truppe, Fahnenflucht und die "
            "Verweigerung der Teilnahme an Kampfhandlungen während einer Mobilmachung oder "
            "unter Kriegsrecht sind mit mehrjährigen Freiheitsstrafen bedroht; die „freiwillige "
            "Gefangengabe“ ist ein eigener Straftatbestand. Seit April 2023 können "
            "Einberufungsbescheide elektronisch zugestellt werden; wer ihnen nicht folgt, kann "
            "unter anderem mit einem Ausreiseverbot belegt werden.\n\n"
            "Artikel 59 Absatz 3 der Verfassung und das Föderale Gesetz Nr. 113-FZ vom 25. Juli "
            "2002 sehen einen alternativen Zivildienst vor. Menschenrechtsorganisationen "
            "berichten jedoch, dass dieses Recht in der Praxis schwer durchzusetzen ist, "
            "insbesondere für bereits mobilisierte oder vertraglich gebundene Soldaten, und dass "
            "Anträge abgelehnt wurden. Internationale Menschenrechtsgremien berichten über "
            "Festnahmen und Strafverfahren gegen Soldaten, die sich geweigert haben, an "
            "Kampfhandlungen teilzunehmen."
        ),
        "sources": [
            "Erlass des Präsidenten der Russischen Föderation Nr. 647 vom 21. September 2022 "
            "„Über die Ausrufung der Teilmobilmachung“",
            "Föderales Gesetz vom 24. September 2022 zur Änderung des Strafgesetzbuchs der "
            "Russischen Föderation (Mobilmachung, Kriegsrecht, Kriegszeit)",
            "Föderales Gesetz Nr. 113-FZ vom 25. Juli 2002 „Über den alternativen Zivildienst“",
            "Auswärtiges Amt, Bericht über die asyl- und abschiebungsrelevante Lage in der "
            "Russischen Föderation (jeweils aktuelle Fassung)",
            _CCPR_2022,
            _SPECIAL_RAPPORTEUR,
            _MOSCOW_MECHANISM_2022,
        ],
    },
    {
        "title": "Chechnya: treatment of gay and bisexual men and other LGBT people",
        "language": "en",
        "grounds": ["sogi"],
        "origin_countries": ["RU"],
        "destination_countries": [],
        "text": (
            "Since 2017, consistent reports have described a campaign in the Chechen Republic "
            "of the Russian Federation in which men perceived to be gay or bisexual were "
            "abducted, held in unofficial places of detention, tortured and, in some cases, "
            "killed; further waves of detentions were reported in later years. A report under "
            "the OSCE Moscow Mechanism of December 2018 concluded that there was strong "
            "evidence of very serious human rights violations in Chechnya, including against "
            "LGBTI people, and described a climate of impunity. LGBT people also face violence "
            "from their own families in the name of “honour”. Moving elsewhere in the Russian "
            "Federation does not reliably protect them: people who fled Chechnya have been "
            "traced and taken back by Chechen law-enforcement officers from other Russian "
            "regions.\n\n"
            "Across the Russian Federation the legal situation has worsened. In December 2022 "
            "the ban on “propaganda” of “non-traditional sexual relations” was extended to all "
            "ages, and on 30 November 2023 the Supreme Court designated the “international LGBT "
            "public movement” as extremist, which exposes people to prosecution for taking part "
            "in or supporting an “extremist organisation”."
        ),
        "sources": [
            "OSCE Moscow Mechanism: Report on alleged Human Rights Violations and Impunity in "
            "the Chechen Republic of the Russian Federation (rapporteur Wolfgang Benedek, "
            "December 2018), osce.org",
            "Human Rights Watch, “They Have Long Arms and They Can Find Me”: Anti-Gay Purge by "
            "Local Authorities in Russia's Chechen Republic (May 2017), hrw.org",
            "Parliamentary Assembly of the Council of Europe, resolution on the persecution of "
            "LGBTI people in the Chechen Republic (Russian Federation) (2018), pace.coe.int",
            "European Court of Human Rights, Lapunov v. Russia (judgment of 12 September 2023), "
            "hudoc.echr.coe.int",
            "Federal Law of 5 December 2022 extending the ban on “propaganda of non-traditional "
            "sexual relations” to all ages",
            "Supreme Court of the Russian Federation, decision of 30 November 2023 on the "
            "“international LGBT public movement”",
            _CCPR_2022,
        ],
    },
    {
        "title": "Уголовное преследование за антивоенные высказывания",
        "language": "ru",
        "grounds": ["political"],
        "origin_countries": ["RU"],
        "destination_countries": [],
        "text": (
            "С марта 2022 года в Российской Федерации действуют статья 207.3 Уголовного "
            "кодекса (публичное распространение «заведомо ложной информации» об использовании "
            "Вооружённых сил), статья 280.3 Уголовного кодекса и статья 20.3.3 Кодекса об "
            "административных правонарушениях («дискредитация» Вооружённых сил). По этим "
            "статьям людей привлекают к ответственности за публичные высказывания против "
            "войны, в том числе за публикации в социальных сетях, одиночные пикеты и "
            "разговоры, о которых в полицию сообщили третьи лица. Правозащитные организации "
            "насчитывают тысячи административных и сотни уголовных дел; по статье 207.3 "
            "назначаются реальные сроки лишения свободы на несколько лет, максимальное "
            "наказание по ней — пятнадцать лет.\n\n"
            "Уголовное преследование нередко сопровождается обысками, задержаниями, давлением "
            "на родственников, включением в реестр «иностранных агентов» или в перечень "
            "«экстремистов и террористов». Международные правозащитные органы, в том числе "
            "Комитет ООН по правам человека и специальный докладчик ООН по ситуации с правами "
            "человека в Российской Федерации, выражали обеспокоенность ограничениями свободы "
            "выражения мнений в Российской Федерации."
        ),
        "sources": [
            "Федеральный закон от 4 марта 2022 г. о внесении изменений в Уголовный кодекс "
            "Российской Федерации (статьи 207.3 и 280.3)",
            "Кодекс Российской Федерации об административных правонарушениях, статья 20.3.3",
            "Комитет ООН по правам человека, заключительные замечания по восьмому "
            "периодическому докладу Российской Федерации (CCPR/C/RUS/CO/8, 2022), ohchr.org",
            "Доклады специального докладчика ООН по ситуации с правами человека в Российской "
            "Федерации Совету по правам человека (с 2023 г.), ohchr.org",
            _MOSCOW_MECHANISM_2022,
            "Данные ОВД-Инфо о преследованиях за антивоенную позицию, ovd.info",
        ],
    },
    {
        "title": "Russian Federation: prosecution for anti-war statements",
        "language": "en",
        "grounds": ["political"],
        "origin_countries": ["RU"],
        "destination_countries": [],
        "text": (
            "Since March 2022, Article 207.3 of the Russian Criminal Code (public dissemination "
            "of “knowingly false information” about the use of the Armed Forces), Article 280.3 "
            "of the Criminal Code and Article 20.3.3 of the Code of Administrative Offences "
            "(“discrediting” the Armed Forces) have been used to punish people for speaking out "
            "against the war, including for posts on social media, single-person pickets and "
            "conversations reported to the police by others. Human rights organisations count "
            "thousands of administrative cases and hundreds of criminal cases; Article 207.3 "
            "has led to prison sentences of several years and carries a maximum penalty of "
            "fifteen years.\n\n"
            "Prosecution is often accompanied by searches, detention, pressure on relatives, "
            "and listing as a “foreign agent” or on the register of “extremists and "
            "terrorists”. International human rights bodies, including the UN Human Rights "
            "Committee and the UN Special Rapporteur on the situation of human rights in the "
            "Russian Federation, have expressed concern about the restrictions of freedom of "
            "expression in the Russian Federation."
        ),
        "sources": [
            "Federal Law of 4 March 2022 amending the Criminal Code of the Russian Federation "
            "(Articles 207.3 and 280.3)",
            "Code of Administrative Offences of the Russian Federation, Article 20.3.3",
            _CCPR_2022,
            _SPECIAL_RAPPORTEUR,
            _MOSCOW_MECHANISM_2022,
            "OVD-Info, data on persecution for anti-war positions, ovd.info",
        ],
    },
]


def french_spacing(text: str) -> str:
    """No-break spaces where French typography wants them (inside guillemets, before ; : ! ?
    and after "n°"), so that no line of a letter starts with "»" or ";"."""
    for plain, joined in (
        ("« ", "«\u00a0"),
        (" »", "\u00a0»"),
        (" ;", "\u00a0;"),
        (" :", "\u00a0:"),
        (" !", "\u00a0!"),
        (" ?", "\u00a0?"),
        ("n° ", "n°\u00a0"),
    ):
        text = text.replace(plain, joined)
    return text


def sources_text(paragraph: dict) -> str:
    """The sources as stored: the demo note first, then one source per line."""
    return "\n".join([DEMO_NOTE, *(f"– {source}" for source in paragraph["sources"])])


def load_default_paragraphs(apps) -> int:
    """Create the shared default paragraphs that do not exist yet (by title and language), each
    with its first version; never changes one that exists (an administrator may have edited
    it). Returns how many were created."""
    Paragraph = apps.get_model("letters", "Paragraph")
    ParagraphVersion = apps.get_model("letters", "ParagraphVersion")
    Ground = apps.get_model("casework", "Ground")
    created = 0
    for fields in DEFAULT_PARAGRAPHS:
        if Paragraph.objects.filter(
            title=fields["title"], language=fields["language"], organisation__isnull=True
        ).exists():
            continue
        text, sources = fields["text"], sources_text(fields)
        if fields["language"] == "fr":
            text, sources = french_spacing(text), french_spacing(sources)
        paragraph = Paragraph.objects.create(
            organisation=None,
            title=fields["title"],
            language=fields["language"],
            origin_countries=fields["origin_countries"],
            destination_countries=fields["destination_countries"],
            sources=sources,
            checked_on=CHECKED_ON,
            text=text,
            is_active=True,
        )
        paragraph.grounds.set(Ground.objects.filter(code__in=fields["grounds"]))
        ParagraphVersion.objects.create(
            paragraph=paragraph,
            number=1,
            text=paragraph.text,
            sources=paragraph.sources,
            checked_on=CHECKED_ON,
        )
        created += 1
    return created
