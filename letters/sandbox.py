"""Letter templates written by administrators, run in a sandbox.

A template is Django template syntax, but it is checked before it is ever rendered: only the
variables listed in `VARIABLES` (plain strings, dates and short lists built by
`letters.context`, never model instances), only the filters in `FILTERS`, only the tags
`if`/`for`/`comment`, loops only over the listed lists and nested at most two deep. So a template
can reach neither settings, nor other objects, nor files; every refusal names the line.

Nor can it run for ever or fill the memory, and that is bounded before anything runs: the
source has a size limit, blocks a nesting limit (checked on the tokens, before Django's parser
recurses into them), filter arguments are short and `join` only joins a list, so that no single
value can grow much larger than the data it comes from. Rendering then counts every piece of
text it writes and stops as soon as the letter passes `MAX_OUTPUT`, instead of building the
whole output and measuring it afterwards.
"""

from typing import Any

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import (
    FilterExpression,
    Lexer,
    Node,
    TextNode,
    TokenType,
    Variable,
    VariableNode,
)
from django.template.defaulttags import CommentNode, ForNode, IfNode
from django.utils.formats import number_format
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
# As long as the longest letter text (Letter.body); the shipped templates are under 6,000.
MAX_SOURCE = 50_000
# Blocks ({% if %}, {% for %}, {% comment %}) inside one another; the shipped templates use 5.
MAX_NESTING = 10
# A filter's argument in quotes ("—", ", ", a date format): short, so that no filter can turn
# a short value into a long one (`join` with a long separator, `date` with a long format).
MAX_ARGUMENT = 200
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
    for position, (func, args) in enumerate(expr.filters):
        filter_name = getattr(func, "_filter_name", func.__name__)
        if filter_name not in FILTERS:
            raise TemplateError(
                _("The filter “%(name)s” is not allowed.") % {"name": filter_name}, line
            )
        # Joining a string joins its characters: a long separator between the characters of
        # an address inside two loops made gigabytes. So only a list is joined, as it stands.
        if filter_name == "join" and not (
            position == 0 and isinstance(var, Variable) and var.var in LISTS
        ):
            raise TemplateError(
                _("“join” may only join one of: %(lists)s.") % {"lists": ", ".join(LISTS)}, line
            )
        for _lookup, arg in args:
            if isinstance(arg, Variable) and arg.lookups is not None:
                raise TemplateError(_("Filter arguments must be plain text in quotes."), line)
            # A quoted argument comes resolved (a string), a number as a Variable.
            if len(arg.var if isinstance(arg, Variable) else str(arg)) > MAX_ARGUMENT:
                raise TemplateError(
                    _("A filter argument may be at most %(max)d characters long.")
                    % {"max": MAX_ARGUMENT},
                    line,
                )


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
                and len(node.loopvars) == 1  # the items are plain strings, not pairs
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


def _check_nesting(source: str) -> None:
    """Refuse blocks nested deeper than MAX_NESTING, from the tokens alone: Django's parser
    recurses once per level, and a 500-deep {% if %} ends in a RecursionError there. A tag
    opens a block when the template also has its end tag; a comment's content is skipped, as
    the parser skips it."""
    blocks = [t for t in Lexer(source).tokenize() if t.token_type == TokenType.BLOCK]
    names = [token.contents.split()[0] if token.contents.split() else "" for token in blocks]
    closers = {name for name in names if name.startswith("end")}
    depth, in_comment = 0, False
    for token, name in zip(blocks, names, strict=True):
        if in_comment:
            in_comment = name != "endcomment"
            if not in_comment:
                depth -= 1
        elif name.startswith("end"):
            depth = max(depth - 1, 0)
        elif "end" + name in closers:
            depth += 1
            in_comment = name == "comment"
            if depth > MAX_NESTING:
                raise TemplateError(
                    _("Blocks ({%% if %%}, {%% for %%}) may be nested at most %(max)d deep.")
                    % {"max": MAX_NESTING},
                    token.lineno,
                )


def _too_deep() -> TemplateError:
    return TemplateError(_("The template is nested too deeply (blocks or conditions)."))


def compile_template(source: str):
    """Parse and check a template; raises TemplateError with the line on anything not allowed."""
    if len(source) > MAX_SOURCE:
        raise TemplateError(
            _("The template is too long: %(length)s characters, at most %(max)s.")
            % {
                "length": number_format(len(source), force_grouping=True),
                "max": number_format(MAX_SOURCE, force_grouping=True),
            }
        )
    _check_nesting(source)
    try:
        template = _engine.from_string(source)
        _check_nodes(template.nodelist, source, loop_vars=set(), depth=0)
    except TemplateSyntaxError as error:
        info = getattr(error, "template_debug", None) or {}
        message = str(error)
        if "is not a registered tag library" in message:
            message = _("Loading tag libraries ({% load %}) is not allowed.")
        raise TemplateError(message, info.get("line")) from None
    except RecursionError:
        # Blocks are limited above; a condition can still nest (`not not not … x`).
        raise _too_deep() from None
    return template


class _OutputBudget:
    """What is left of MAX_OUTPUT in one rendering."""

    def __init__(self, limit: int):
        self.left = limit


class _MeteredNode(Node):
    """A text or variable node whose output is charged to the rendering's budget: rendering
    stops at the first piece past the cap. Loops and conditions write nothing of their own,
    so metering these two kinds meters the whole letter, and no loop's output grows past the
    cap (a ForNode collects its pieces in a list before joining them)."""

    child_nodelists = ()

    def __init__(self, node: Node, budget: _OutputBudget):
        self.node, self.budget = node, budget
        self.token, self.origin = node.token, node.origin  # where an error is reported

    def render(self, context):
        output = self.node.render_annotated(context)
        self.budget.left -= len(output)
        if self.budget.left < 0:
            raise TemplateError(_("The letter is too long (over 100,000 characters)."))
        return output


def _meter(nodelist: list[Any], budget: _OutputBudget) -> None:
    """Put every text and variable node of the tree under the budget (in place). The parser
    makes NodeLists; the stubs also allow a ForNode's lists to be plain lists."""
    for index, node in enumerate(nodelist):
        if isinstance(node, TextNode | VariableNode):
            nodelist[index] = _MeteredNode(node, budget)
        elif isinstance(node, IfNode):
            for _condition, branch in node.conditions_nodelists:
                _meter(branch, budget)
        elif isinstance(node, ForNode):
            _meter(node.nodelist_loop, budget)
            _meter(node.nodelist_empty, budget)


def render_template(source: str, context: dict) -> str:
    template = compile_template(source)
    _meter(template.nodelist, _OutputBudget(MAX_OUTPUT))
    try:
        # Autoescape off: the output is plain text, escaped later when it is put into HTML.
        return template.render(Context(context, autoescape=False))
    except RecursionError:
        raise _too_deep() from None


def help_text() -> str:
    lines = [f"{{{{ {name} }}}} — {text}" for name, text in VARIABLES.items() if text]
    return "\n".join(lines)
