"""The `conditions` query parameter: a small recursive-descent parser that turns
ConnectWise's expressions into a Django `Q` over a whitelist of fields.

    conditions := or
    or         := and ("or" and)*
    and        := unary ("and" unary)*
    unary      := "not" unary | "(" or ")" | comparison
    comparison := FIELD ["not"] ("=" | "!=" | "<" | "<=" | ">" | ">=" | "contains" | "like") VALUE
                | FIELD ["not"] "in" "(" VALUE ("," VALUE)* ")"
    VALUE      := "string" | number | true | false | null | [2026-11-01T00:00:00Z]

Keywords are case-insensitive; fields are names of the resource's whitelist (nested with
`/`, `company/identifier`). A value is checked against its field's type before it
reaches the ORM, so anything else is a 400 naming what is wrong, never a database error.
"""

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db.models import Q

from cwapi.errors import CwError, invalid

MAX_LENGTH = 4000
MAX_COMPARISONS = 100
MAX_DEPTH = 32
MAX_INT = 2**63 - 1

STRING, NUMBER, DATETIME, OP, WORD, LPAREN, RPAREN, COMMA, END = (
    "string", "number", "datetime", "operator", "word", "(", ")", ",", "end",
)  # fmt: skip

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<datetime>\[[^\[\]]*\])
  | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z_]))
  | (?P<operator>!=|<=|>=|=|<|>)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)
_KINDS = {"lparen": LPAREN, "rparen": RPAREN, "comma": COMMA}
KEYWORD_OPERATORS = ("contains", "like", "in")
LITERALS = ("true", "false", "null")


@dataclass(frozen=True)
class Field:
    """A field conditions and orderBy may name: its ORM lookup and its type
    (int, decimal, string, bool, date, datetime)."""

    lookup: str
    type: str


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


def _error(message: str) -> CwError:
    return invalid(message, field="conditions")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _error(
                f"conditions: unexpected character {text[position]!r} at position {position + 1}."
            )
        group = match.lastgroup or ""
        if group != "space":
            tokens.append(Token(_KINDS.get(group, group), match.group(), position + 1))
        position = match.end()
    tokens.append(Token(END, "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str, fields: dict[str, Field]) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.fields = fields
        self.comparisons = 0

    # --- the token stream

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == WORD and token.text.lower() in words

    def expect(self, kind: str, what: str) -> Token:
        token = self.peek()
        if token.kind != kind:
            raise _error(
                f"conditions: expected {what} at position {token.position}, {_found(token)}."
            )
        return self.take()

    # --- the grammar

    def parse(self) -> Q:
        result = self.parse_or(0)
        token = self.peek()
        if token.kind != END:
            if token.kind == RPAREN:
                raise _error(f"conditions: unbalanced ')' at position {token.position}.")
            raise _error(
                f"conditions: expected 'and' or 'or' at position {token.position}, {_found(token)}."
            )
        return result

    def parse_or(self, depth: int) -> Q:
        if depth > MAX_DEPTH:
            raise _error(f"conditions: nested more than {MAX_DEPTH} levels deep.")
        result = self.parse_and(depth)
        while self.at_word("or"):
            self.take()
            result = result | self.parse_and(depth)
        return result

    def parse_and(self, depth: int) -> Q:
        result = self.parse_unary(depth)
        while self.at_word("and"):
            self.take()
            result = result & self.parse_unary(depth)
        return result

    def parse_unary(self, depth: int) -> Q:
        token = self.peek()
        if self.at_word("not"):
            self.take()
            return ~self.parse_unary(depth + 1)
        if token.kind == LPAREN:
            self.take()
            inner = self.parse_or(depth + 1)
            closing = self.peek()
            if closing.kind != RPAREN:
                raise _error(
                    f"conditions: unbalanced '(' at position {token.position}: expected ')' "
                    f"at position {closing.position}, {_found(closing)}."
                )
            self.take()
            return inner
        return self.parse_comparison()

    def parse_comparison(self) -> Q:
        token = self.peek()
        if token.kind != WORD or token.text.lower() in ("and", "or", "not", *LITERALS):
            raise _error(
                f"conditions: expected a field at position {token.position}, {_found(token)}."
            )
        self.take()
        field = self.fields.get(token.text)
        if field is None:
            raise invalid(
                f"conditions: {token.text} is not a field that can be used in conditions here. "
                f"Use one of: {', '.join(sorted(self.fields))}.",
                field="conditions",
                code="InvalidField",
            )
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise _error(f"conditions: at most {MAX_COMPARISONS} comparisons.")
        negate = False
        if self.at_word("not"):
            self.take()
            negate = True
        operator = self.peek()
        if operator.kind == OP and not negate:
            self.take()
            result = self.compare(token.text, field, operator.text, self.take())
        elif operator.kind == WORD and operator.text.lower() in KEYWORD_OPERATORS:
            self.take()
            name = operator.text.lower()
            if name == "in":
                result = self.compare_in(token.text, field)
            else:
                result = self.compare_text(token.text, field, name, self.take())
        else:
            raise _error(
                f"conditions: expected an operator (=, !=, <, <=, >, >=, contains, like, in, "
                f"not) after {token.text} at position {operator.position}, {_found(operator)}."
            )
        return ~result if negate else result

    def compare_in(self, name: str, field: Field) -> Q:
        self.expect(LPAREN, "'(' after in")
        values = [self.value(name, field, self.take())]
        while self.peek().kind == COMMA:
            self.take()
            values.append(self.value(name, field, self.take()))
        self.expect(RPAREN, "')' closing the in list")
        if any(value is None for value in values):
            raise _error(f"conditions: {name} in (...) cannot hold null; use {name} = null.")
        if field.type == "string":
            query = Q()
            for value in values:
                query |= Q(**{f"{field.lookup}__iexact": value})
            return query
        return Q(**{f"{field.lookup}__in": values})

    def compare_text(self, name: str, field: Field, operator: str, token: Token) -> Q:
        if field.type != "string" or token.kind != STRING:
            raise _error(
                f"conditions: {operator} needs a text field and a quoted text; {name} "
                f"is {_article(field.type)}, {_found(token)}."
            )
        value = self.value(name, field, token)
        if operator == "contains":
            return Q(**{f"{field.lookup}__icontains": value})
        pattern = "".join(
            ".*" if part in ("%", "*") else re.escape(part)
            for part in re.split(r"([%*])", value)
            if part
        )
        return Q(**{f"{field.lookup}__iregex": f"^{pattern}$"})

    def compare(self, name: str, field: Field, operator: str, token: Token) -> Q:
        value = self.value(name, field, token)
        if value is None:
            if operator not in ("=", "!="):
                raise _error(f"conditions: null can only be compared with = or != ({name}).")
            return Q(**{f"{field.lookup}__isnull": operator == "="})
        if field.type == "bool" and operator not in ("=", "!="):
            raise _error(f"conditions: {name} is true or false; compare it with = or !=.")
        if operator in ("=", "!="):
            lookup = "iexact" if field.type == "string" else "exact"
            query = Q(**{f"{field.lookup}__{lookup}": value})
            return ~query if operator == "!=" else query
        lookup = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}[operator]
        return Q(**{f"{field.lookup}__{lookup}": value})

    def value(self, name: str, field: Field, token: Token):
        """The token as a value of the field's type; anything else is a 400."""
        kind, text = token.kind, token.text
        if kind == WORD and text.lower() == "null":
            return None
        wrong = _error(
            f"conditions: {name} takes {_article(field.type)}; {_found(token)} at position "
            f"{token.position}."
        )
        if field.type == "string":
            if kind != STRING:
                raise wrong
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if field.type == "bool":
            if kind != WORD or text.lower() not in ("true", "false"):
                raise wrong
            return text.lower() == "true"
        if field.type == "int":
            if kind != NUMBER or "." in text or abs(int(text)) > MAX_INT:
                raise wrong
            return int(text)
        if field.type == "decimal":
            if kind != NUMBER or len(text) > 30:
                raise wrong
            try:
                return Decimal(text)
            except InvalidOperation:
                raise wrong from None
        if field.type in ("date", "datetime"):
            if kind != DATETIME:
                raise wrong
            moment = parse_datetime(text[1:-1].strip())
            if moment is None:
                raise _error(
                    f"conditions: {text} is not a date and time like [2026-11-01T00:00:00Z] "
                    f"(position {token.position})."
                )
            return moment.date() if field.type == "date" else moment
        raise wrong  # pragma: no cover - every field type is handled above


def parse_datetime(text: str) -> dt.datetime | None:
    """`2026-11-01T00:00:00Z`, `2026-11-01T00:00:00+02:00` or `2026-11-01`, as UTC."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
        if not re.fullmatch(
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", text
        ):
            return None
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)
    except ValueError:
        return None


def _found(token: Token) -> str:
    if token.kind == END:
        return "found the end"
    return f"found {token.text[:40]!r}"


def _article(type_: str) -> str:
    return {
        "int": "a whole number",
        "decimal": "a number",
        "string": "a quoted text",
        "bool": "true or false",
        "date": "a date in brackets",
        "datetime": "a date and time in brackets",
    }[type_]


def parse_conditions(text: str, fields: dict[str, Field]) -> Q:
    """The Q for a `conditions` text over these fields; a 400 for anything else."""
    if len(text) > MAX_LENGTH:
        raise _error(f"conditions: at most {MAX_LENGTH} characters.")
    if not text.strip():
        return Q()
    return _Parser(text, fields).parse()
