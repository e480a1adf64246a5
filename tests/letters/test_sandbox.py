"""The template sandbox: templates written by administrators can read only whitelisted values,
cannot reach settings, objects or files, cannot loop to exhaustion, and every refusal is a
readable message with the line; the admin shows it instead of saving (never a 500)."""

import tracemalloc

import pytest
from django.urls import reverse

from casework.models import Ground, Membership
from letters import services
from letters.models import Letter, LetterTemplate, LetterTemplateVersion
from letters.sandbox import (
    MAX_ARGUMENT,
    MAX_OUTPUT,
    MAX_SOURCE,
    TemplateError,
    compile_template,
    render_template,
)
from tests.factories import make_user
from tests.helpers import TEMPLATE_BODY

ADMIN_NAME = "Soutien OFPRA (admin test)"
HEAD = "Madame, Monsieur,\n\n"  # so the offending tag is on line 3
TAIL = "\n\nVeuillez agréer nos salutations."

REFUSED = {
    # name: (template fragment on line 3, words the message must contain)
    "settings": ("{{ settings }}", ["settings"]),
    "secret_key": ("{{ settings.SECRET_KEY }}", ["settings.SECRET_KEY"]),
    "dunder_class": ("{{ client.full_name.__class__ }}", ["__class__"]),
    "private_attribute": ("{{ client._meta }}", ["_meta"]),
    "method_not_whitelisted": ("{{ case.reference.upper }}", ["case.reference.upper"]),
    "list_index": ("{{ case.grounds.0 }}", ["case.grounds.0"]),
    "unknown_root": ("{{ request.user.password }}", ["request.user.password"]),
    "include_file": ('{% include "/etc/passwd" %}', ["include"]),
    "extends": ('{% extends "base.html" %}', ["extends"]),
    "load_library": ("{% load static %}", ["load"]),
    "debug": ("{% debug %}", ["debug"]),
    "now": ('{% now "Y" %}', ["now"]),
    "with": ("{% with s=settings %}{{ s }}{% endwith %}", ["with"]),
    "ssi_like_unknown_tag": ('{% ssi "/etc/passwd" %}', ["ssi"]),
    "loop_over_string": ('{% for c in "abcdefgh" %}{{ c }}{% endfor %}', ["case.grounds"]),
    "loop_over_loop_item": (
        "{% for g in case.grounds %}{% for c in g %}{{ c }}{% endfor %}{% endfor %}",
        ["case.grounds"],
    ),
    "loop_with_filter": ('{% for g in case.grounds|slice:":2" %}{% endfor %}', ["case.grounds"]),
    "loops_three_deep": (
        "{% for a in case.grounds %}{% for b in case.grounds %}{% for c in case.grounds %}"
        "{{ c }}{% endfor %}{% endfor %}{% endfor %}",
        ["two deep"],
    ),
    "loop_item_attribute": ("{% for g in case.grounds %}{{ g.upper }}{% endfor %}", ["g.upper"]),
    "parentloop": (
        "{% for g in case.grounds %}{{ forloop.parentloop }}{% endfor %}",
        ["forloop.parentloop"],
    ),
    "filter_safe": ("{{ case.destination|safe }}", ["safe"]),
    "filter_pprint": ("{{ case.destination|pprint }}", ["pprint"]),
    "filter_unknown": ("{{ case.destination|nosuchfilter }}", ["nosuchfilter"]),
    "filter_argument_variable": ("{{ case.destination|default:settings }}", ["quotes"]),
    "filter_argument_whitelisted_variable": (
        "{{ case.grounds|join:client.full_name }}",
        ["quotes"],
    ),
    "if_settings": ("{% if settings.DEBUG %}x{% endif %}", ["settings.DEBUG"]),
    "if_comparison": (
        "{% if case.reference == settings.SECRET_KEY %}x{% endif %}",
        ["settings.SECRET_KEY"],
    ),
    "if_filter_argument": ("{% if case.destination|default:settings %}x{% endif %}", ["quotes"]),
    "join_on_a_string": ('{{ authority.address|join:", " }}', ["join", "case.grounds"]),
    "join_after_a_filter": ('{{ case.grounds|first|join:"-" }}', ["join", "case.grounds"]),
    "long_filter_argument": ('{{ case.destination|default:"' + "x" * 201 + '" }}', ["200"]),
    "loop_with_two_variables": ("{% for a, b in case.grounds %}{% endfor %}", ["case.grounds"]),
    "blocks_eleven_deep": (
        "{% if case.reference %}" * 11 + "x" + "{% endif %}" * 11,
        ["nested", "10"],
    ),
    "syntax_error": ("{% if %}", ["if"]),
    "unclosed_loop": ("{% for g in case.grounds %}", ["for"]),
}


@pytest.mark.parametrize("name", REFUSED)
def test_refused_with_readable_message_and_line(name):
    fragment, words = REFUSED[name]
    with pytest.raises(TemplateError) as excinfo:
        compile_template(HEAD + fragment + TAIL)
    error = excinfo.value
    assert error.line == 3
    assert "line 3" in str(error)
    for word in words:
        assert word in error.message
    # Readable: a sentence for a person, not a traceback or a Python repr.
    assert "Traceback" not in error.message
    assert "object at 0x" not in error.message
    assert len(error.message) < 300


def test_error_in_elif_points_to_the_elif_line():
    with pytest.raises(TemplateError) as excinfo:
        compile_template("{% if case.destination %}\nA\n{% elif settings %}B{% endif %}")
    assert excinfo.value.line == 3


def test_error_inside_a_loop_points_to_its_own_line():
    with pytest.raises(TemplateError) as excinfo:
        compile_template("{% for g in case.grounds %}\n{{ g }}\n{% now 'Y' %}\n{% endfor %}")
    assert excinfo.value.line == 3


def test_whitelisted_template_renders():
    source = (
        "{{ client.full_name|upper }}, {{ letter.date|date:'Y' }}\n"
        "{% for g in case.grounds %}{% for h in case.grounds %}{{ forloop.counter }}{{ g }}{{ h }}"
        "{% endfor %}{% if not forloop.last %}; {% endif %}{% endfor %}\n"
        "{% comment %}{{ settings }}{% endcomment %}"
        "{{ case.grounds|join:', '|default:'—' }}"
    )
    import datetime

    out = render_template(
        source,
        {
            "client": {"full_name": "Rustam Zuganshin"},
            "letter": {"date": datetime.date(2026, 3, 1)},
            "case": {"grounds": ["a", "b"]},
        },
    )
    assert out.splitlines() == ["RUSTAM ZUGANSHIN, 2026", "1aa2ab; 1ba2bb", "a, b"]


def test_template_text_is_not_escaped_or_evaluated_twice():
    # The output is plain text; a value that looks like a template is printed as is.
    out = render_template(
        "{{ case.destination }}", {"case": {"destination": "{{ settings }} <b>&"}}
    )
    assert out == "{{ settings }} <b>&"


def test_loops_to_exhaustion_stop_at_the_output_cap():
    """Two nested loops (the maximum) over all grounds with a long text inside: rejected as too
    long when rendered, not left to run and fill memory."""
    source = (
        "{% for a in case.grounds %}{% for b in case.grounds %}" + "x" * 3000 + "{% endfor %}"
        "{% endfor %}"
    )
    compile_template(source)  # allowed by shape…
    with pytest.raises(TemplateError) as excinfo:  # …but stopped by size
        render_template(source, {"case": {"grounds": [str(i) for i in range(7)]}})
    assert "too long" in excinfo.value.message
    assert MAX_OUTPUT < 7 * 7 * 3000


# --- bounded before it runs ----------------------------------------------------------------------

# Grounds as the letters write them: the longest values a loop goes over.
GROUNDS = [f"persécution en raison de ses opinions politiques, motif n° {i}" for i in range(7)]
LOOPS = "{%% for a in case.grounds %%}{%% for b in case.grounds %%}%s{%% endfor %%}{%% endfor %%}"


def peak_memory(function, *args):
    """Run `function` and return (what it raised or returned, the peak of memory it allocated)."""
    tracemalloc.start()
    try:
        result = function(*args)
    except TemplateError as error:
        result = error
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result, peak


def test_the_180_kb_output_bomb_is_refused_before_it_runs():
    """The attack of the security review: a 180 kB template, two nested loops, and in them a
    value joined with a separator of 180,000 characters (joining a string joins its
    characters): 49 × 48 × 180,000 characters, gigabytes, before the cap was looked at. It is
    now refused on its size alone, before it is parsed, whether saved or rendered."""
    source = LOOPS % ('{{ authority.address|join:"' + "x" * 180_000 + '" }}')
    assert len(source) > 180_000
    context = {"case": {"grounds": GROUNDS}, "authority": {"address": "x" * 48}}
    for function in (compile_template, lambda s: render_template(s, context)):
        error, peak = peak_memory(function, source)
        assert isinstance(error, TemplateError)
        assert "too long" in error.message and f"{MAX_SOURCE:,}" in error.message
        assert peak < 100_000  # bytes: the source is not even tokenized


def test_the_largest_template_allowed_stops_at_the_output_cap_in_bounded_memory():
    """Just under the size limit, the most a template can make of its data (a list joined with
    the longest separator allowed, as often as fits, inside two loops) would write over a hundred
    times the cap. Rendering stops at the first piece past the cap, having built no more than
    the cap: its peak memory is a few hundred kilobytes, not the tens of megabytes the letter
    would have taken."""
    tag = '{{ case.grounds|join:"' + "x" * MAX_ARGUMENT + '" }}'
    source = LOOPS % (tag * ((MAX_SOURCE - 100) // len(tag)))
    compile_template(source)  # allowed…
    context = {"case": {"grounds": GROUNDS}}
    would_write = 49 * source.count("{{") * 6 * MAX_ARGUMENT  # 6 separators between 7 grounds
    assert would_write > 100 * MAX_OUTPUT
    error, peak = peak_memory(render_template, source, context)
    assert isinstance(error, TemplateError) and "too long" in error.message  # …but stopped
    assert peak < 4_000_000  # bytes; a 100,000-character letter takes at most 400,000


def test_a_500_deep_if_is_a_clear_error_with_its_line():
    source = HEAD + "{% if case.reference %}\n" * 500 + "x" + "{% endif %}" * 500
    with pytest.raises(TemplateError) as excinfo:
        compile_template(source)
    assert "nested at most 10 deep" in excinfo.value.message
    assert excinfo.value.line == 3 + 10  # the eleventh block


def test_conditions_nested_to_exhaustion_are_a_clear_error():
    # A chain of `not` nests in Django's condition parser, past Python's recursion limit.
    with pytest.raises(TemplateError) as excinfo:
        compile_template("{% if " + "not " * 3000 + "case.reference %}x{% endif %}")
    assert "nested too deeply" in excinfo.value.message


def test_a_comment_may_hold_anything_without_counting_as_nesting():
    source = "{% comment %}" + "{% if x %}" * 50 + "{% endcomment %}ok"
    assert render_template(source, {}) == "ok"


def test_too_long_letter_at_draft_time_is_a_validation_error(case, caseworker, ofpra):
    from django.core.exceptions import ValidationError

    for code in Ground.Code.values:
        Ground.objects.get_or_create(code=code)
    case.grounds.set(Ground.objects.all())
    template = LetterTemplate.objects.create(
        name="Endless",
        kind="support",
        language="fr",
        body="{% for a in case.grounds %}{% for b in case.grounds %}"
        + "x" * 3000
        + "{% endfor %}{% endfor %}",
    )
    with pytest.raises(ValidationError) as excinfo:
        services.letter_draft(case=case, template=template, authority=ofpra, by=caseworker)
    assert "too long" in " ".join(excinfo.value.messages)
    assert not Letter.objects.exists()


def test_html_producing_filters_are_refused_because_letters_are_plain_text(case, caseworker, ofpra):
    # Templates render to plain text that the print layout escapes: a filter that makes HTML
    # (linebreaksbr) would show a literal "<br>" in the letter, so the sandbox refuses it.
    with pytest.raises(TemplateError, match="linebreaksbr"):
        compile_template("Adresse : {{ authority.address|linebreaksbr }}")
    template = LetterTemplate.objects.create(
        name="Address", kind="support", language="fr", body="Adresse : {{ authority.address }}"
    )
    letter = services.letter_draft(case=case, template=template, authority=ofpra, by=caseworker)
    assert "<br" not in letter.body
    assert "\n94136 Fontenay-sous-Bois Cedex" in letter.body  # a multi-line value, as text


# --- through the admin -------------------------------------------------------------------------


@pytest.fixture
def superuser(org):
    return make_user(
        organisation=org,
        role=Membership.Role.ADMINISTRATOR,
        username="root",
        is_staff=True,
        is_superuser=True,
    )


def admin_data(**fields):
    data = {
        "name": ADMIN_NAME,
        "kind": "support",
        "language": "fr",
        "authority_kind": "",
        "subject": "Objet : {{ case.reference }}",
        "body": TEMPLATE_BODY,
        "is_active": "on",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
    }
    data.update(fields)
    return data


def test_admin_add_form_lists_the_variables(client, superuser):
    client.force_login(superuser)
    response = client.get(reverse("admin:letters_lettertemplate_add"))
    assert response.status_code == 200
    assert "client.full_name" in response.text
    assert "case.grounds" in response.text


@pytest.mark.parametrize(
    "bad",
    ["{{ settings.SECRET_KEY }}", '{% include "/etc/passwd" %}', "{{ case.destination|safe }}"],
)
def test_admin_refuses_a_bad_body_with_its_line(client, superuser, bad):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:letters_lettertemplate_add"), admin_data(body=HEAD + bad + TAIL)
    )
    assert response.status_code == 200
    assert "Line 3" in response.text
    assert not LetterTemplate.objects.filter(name=ADMIN_NAME).exists()
    assert not LetterTemplateVersion.objects.filter(template__name=ADMIN_NAME).exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (LOOPS % ('{{ authority.address|join:"' + "x" * 180_000 + '" }}'), "too long"),
        ("{% if case.reference %}" * 500 + "x" + "{% endif %}" * 500, "nested at most 10 deep"),
        ("{% if " + "not " * 3000 + "case.reference %}x{% endif %}", "nested too deeply"),
    ],
    ids=["180_kb_output_bomb", "500_deep_if", "3000_nots"],
)
def test_admin_refuses_an_unbounded_body_with_a_message(client, superuser, body, message):
    client.force_login(superuser)
    response = client.post(reverse("admin:letters_lettertemplate_add"), admin_data(body=body))
    assert response.status_code == 200
    assert message in response.text
    assert not LetterTemplate.objects.filter(name=ADMIN_NAME).exists()


def test_a_stored_template_that_cannot_run_is_the_drafts_message_not_a_500(
    client, case, caseworker, ofpra
):
    """A template saved before the limits (or written to the database directly) is refused when
    a letter is drafted from it: the page says why, and no letter is made."""
    template = LetterTemplate.objects.create(
        name="Deep",
        kind="support",
        language="fr",
        body="{% if case.reference %}" * 500 + "x" + "{% endif %}" * 500,
    )
    client.force_login(caseworker)
    response = client.post(
        reverse("letters:letter_new", args=[case.reference]),
        {"template": template.pk, "authority": ofpra.pk},
    )
    assert response.status_code == 200
    assert "The template “Deep” has an error" in response.text
    assert "nested at most 10 deep" in response.text
    assert not Letter.objects.exists()


def test_admin_refuses_a_bad_subject(client, superuser):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:letters_lettertemplate_add"), admin_data(subject="{{ settings }}")
    )
    assert response.status_code == 200
    assert "settings" in response.text
    assert not LetterTemplate.objects.filter(name=ADMIN_NAME).exists()


def test_admin_versions_the_template_and_letters_keep_theirs(
    client, superuser, case, caseworker, ofpra
):
    client.force_login(superuser)
    response = client.post(reverse("admin:letters_lettertemplate_add"), admin_data())
    assert response.status_code == 302, response.text
    template = LetterTemplate.objects.get(name=ADMIN_NAME)
    assert list(template.versions.values_list("number", flat=True)) == [1]
    assert template.current_version.body == TEMPLATE_BODY

    letter = services.letter_draft(case=case, template=template, authority=ofpra, by=caseworker)
    drafted_body = letter.body

    change_url = reverse("admin:letters_lettertemplate_change", args=[template.pk])
    new_body = "Nouveau texte pour {{ client.full_name }}."
    response = client.post(change_url, admin_data(body=new_body))
    assert response.status_code == 302, response.text
    assert list(template.versions.order_by("number").values_list("number", flat=True)) == [1, 2]
    assert template.current_version.body == new_body

    letter.refresh_from_db()
    assert letter.template_version.number == 1
    assert letter.template_version.body == TEMPLATE_BODY
    assert letter.body == drafted_body

    # Saving without a change of text makes no new version.
    response = client.post(change_url, admin_data(body=new_body, is_active=""))
    assert response.status_code == 302
    assert template.versions.count() == 2

    # A bad edit is refused and the current version stays.
    response = client.post(change_url, admin_data(body=HEAD + "{% debug %}" + TAIL))
    assert response.status_code == 200
    assert "Line 3" in response.text
    template.refresh_from_db()
    assert template.body == new_body
    assert template.versions.count() == 2
