"""Letter templates written by administrators, run in a sandbox.

A template is Django template syntax, but it is checked before it is ever rendered: only the
variables listed in `VARIABLES` (plain strings, dates and short lists built by
`letters.context`, never model instances), only the filters in `FILTERS`, only the tags
`if`/`for`/`comment`, loops only over the listed lists and nested at most two deep, and the output
is capped. So a template can reach neither settings, nor other objects, nor files, nor run for
ever; every refusal names the line.
"""

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import FilterExpression, Node, TextNode, Variable, VariableNode
from django.template.defaulttags import CommentNode, ForNode, IfNode
from django.utils.translation import gettext as _

# Every variable a template may use, with the help text shown to administrators.
VARIABLES: dict[str, str] = {
    "organisation.name": "name of the NGO, in the letter's language",
    "organisation.legal_form": "legal form of the NGO, in the letter's language",
    "organisation.registration": "registration (e.g. its registration number)",
    "organisation.address": "postal address of the NGO",
    "organisation.website": "website of the NGO",
    "organisation.email": "email of the NGO",
    "organisation.phone": "phone of the NGO",
    "signer.name": "who signs, in the letter's alphabet",
    "signer.title": "their position, in the letter's language",
    "client.full_name": "name for prose: given name(s) then family name, in the letter's alphabet",
    "client.identity": "name for identity lines: FAMILY NAME in capitals, then given name(s)",
    "client.family_name": "family name, in the letter's alphabet",
    "client.given_names": "given names, in the letter's alphabet",
    "client.gender": "f, m, x (neutral form) or empty (unknown: neutral form)",
    "client.title": "Madame / Frau / Ms … (empty for the neutral form)",
    "client.birth_date": "date of birth, written out in the letter's style",
    "client.birth_place": "place of birth, in the letter's language",
    "client.citizenship": "citizenship(s), in the letter's language",
    "case.reference": "the NGO's own case reference",
    "case.opened_on": "month and year the NGO opened the case",
    "case.grounds": "grounds in the jurisdiction's legal terms (use in a for loop or |join)",
    "case.destination": "destination country, in the letter's language",
    "facts": "the letter's own facts: put {{ facts }} alone on a paragraph where they go",
    "enclosures": "the documents enclosed, from the case's checklists (P.J., Anlagen, "
    "Enclosures): put {{ enclosures }} alone on the last paragraph; printed below the signature",
    "refs.ofpra": "OFPRA number",
    "refs.cnda": "CNDA appeal (recours) number",
    "refs.ofpra_decision_date": "date of the OFPRA decision (with the CNDA number)",
    "refs.bamf": "BAMF file number (Gesch.-Z.)",
    "refs.vg": "administrative court file number (Aktenzeichen)",
    "refs.vg_court": "the administrative court",
    "refs.a_number": "US A-Number",
    "refs.uscis_receipt": "USCIS receipt number",
    "refs.eoir_court": "the immigration court",
    "refs.eoir_judge": "the immigration judge",
    "refs.eoir_judge_surname": "the immigration judge's family name (Dear Judge …:)",
    "refs.eoir_hearing": "date of the next hearing",
    "refs.home_office": "UK Home Office reference",
    "refs.unhcr": "UNHCR registration number",
    "authority.name": "full name of the addressee",
    "authority.short_name": "short name, e.g. OFPRA",
    "authority.address": "postal address of the addressee",
    "letter.date": "date of the letter, written out in the letter's style",
}
LISTS = {"case.grounds"}
FILTERS = {
    "date",
    "default",
    "join",
    "lower",
    "upper",
    "title",
    "capfirst",
    "length",
    "first",
    "last",
    "yesno",
}
FORLOOP_ATTRIBUTES = {"first", "last", "counter", "counter0", "revcounter", "revcounter0"}
MAX_LOOP_DEPTH = 2
MAX_OUTPUT = 100_000

_engine = Engine(debug=True, loaders=[], builtins=[], libraries={})


class TemplateError(Exception):
    """A template that may not run, with a message for the administrator (and the line)."""

    def __init__(self, message: str, line: int | None = None):
        self.message, self.line = message, line
        super().__init__(f"{message} (line {line})" if line else message)


def _line(source: str, node: Node) -> int | None:
    token = getattr(node, "token", None)
    if token is None or not token.position:
        return None
    return source.count("\n", 0, token.position[0]) + 1


def _check_expression(expr: FilterExpression, *, loop_vars: set[str], line) -> None:
    var = expr.var
    if isinstance(var, Variable) and var.lookups is not None:
        name = var.var
        root = var.lookups[0]
        if root not in loop_vars and name not in VARIABLES:
            raise TemplateError(_("Unknown variable “%(name)s”.") % {"name": name}, line)
        if root == "forloop" and "forloop" in loop_vars:
            if len(var.lookups) != 2 or var.lookups[1] not in FORLOOP_ATTRIBUTES:
                raise TemplateError(_("Unknown variable “%(name)s”.") % {"name": name}, line)
        elif root in loop_vars and len(var.lookups) > 1:
            raise TemplateError(
                _("“%(name)s”: loop items have no attributes.") % {"name": name}, line
            )
    for func, args in expr.filters:
        filter_name = getattr(func, "_filter_name", func.__name__)
        if filter_name not in FILTERS:
            raise TemplateError(
                _("The filter “%(name)s” is not allowed.") % {"name": filter_name}, line
            )
        for _lookup, arg in args:
            if isinstance(arg, Variable) and arg.lookups is not None:
                raise TemplateError(_("Filter arguments must be plain text in quotes."), line)


def _check_condition(condition, *, loop_vars, line) -> None:
    # IfNode conditions are a small tree of operators over TemplateLiteral(FilterExpression).
    for attr in ("first", "second"):
        child = getattr(condition, attr, None)
        if child is not None:
            _check_condition(child, loop_vars=loop_vars, line=line)
    value = getattr(condition, "value", None)
    if isinstance(value, FilterExpression):
        _check_expression(value, loop_vars=loop_vars, line=line)


def _check_nodes(nodes, source: str, *, loop_vars: set[str], depth: int) -> None:
    for node in nodes:
        line = _line(source, node)
        if isinstance(node, TextNode | CommentNode):
            continue
        if isinstance(node, VariableNode):
            _check_expression(node.filter_expression, loop_vars=loop_vars, line=line)
        elif isinstance(node, IfNode):
            for condition, nodelist in node.conditions_nodelists:
                if condition is not None:
                    # An {% elif %} has no token of its own; its branch starts on its line.
                    branch_line = _line(source, nodelist[0]) if len(nodelist) else line
                    _check_condition(condition, loop_vars=loop_vars, line=branch_line or line)
                _check_nodes(nodelist, source, loop_vars=loop_vars, depth=depth)
        elif isinstance(node, ForNode):
            if depth >= MAX_LOOP_DEPTH:
                raise TemplateError(_("Loops may be nested at most two deep."), line)
            # The parser gives a FilterExpression (the stubs also allow a plain string).
            sequence = node.sequence
            if not (
                isinstance(sequence, FilterExpression)
                and isinstance(sequence.var, Variable)
                and sequence.var.var in LISTS
                and not sequence.filters
            ):
                raise TemplateError(
                    _("A loop may only go over one of: %(lists)s.") % {"lists": ", ".join(LISTS)},
                    line,
                )
            _check_nodes(
                node.nodelist_loop,
                source,
                loop_vars=loop_vars | set(node.loopvars) | {"forloop"},
                depth=depth + 1,
            )
            _check_nodes(node.nodelist_empty, source, loop_vars=loop_vars, depth=depth)
        else:
            tag = node.token.contents.split()[0] if getattr(node, "token", None) else "?"
            raise TemplateError(_("The tag “%(tag)s” is not allowed.") % {"tag": tag}, line)


def compile_template(source: str):
    """Parse and check a template; raises TemplateError with the line on anything not allowed."""
    try:
        template = _engine.from_string(source)
    except TemplateSyntaxError as error:
        info = getattr(error, "template_debug", None) or {}
        message = str(error)
        if "is not a registered tag library" in message:
            message = _("Loading tag libraries ({% load %}) is not allowed.")
        raise TemplateError(message, info.get("line")) from None
    _check_nodes(template.nodelist, source, loop_vars=set(), depth=0)
    return template


def render_template(source: str, context: dict) -> str:
    template = compile_template(source)
    # Autoescape off: the output is plain text, escaped later when it is put into HTML.
    output = template.render(Context(context, autoescape=False))
    if len(output) > MAX_OUTPUT:
        raise TemplateError(_("The letter is too long (over 100,000 characters)."))
    return output


def help_text() -> str:
    lines = [f"{{{{ {name} }}}} — {text}" for name, text in VARIABLES.items() if text]
    return "\n".join(lines)
