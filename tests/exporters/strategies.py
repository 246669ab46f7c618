"""Hypothesis strategies: random balanced postings of every kind."""

from datetime import date
from decimal import Decimal

from hypothesis import strategies as st

from accounting.gl import BILL, SALE, GLLine, Posting, PostingHeader

ZERO = Decimal("0.00")

# Text as people type it, with the characters that break files: separators, quotes,
# tabs, line breaks, other control characters, non-ASCII.
awkward_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(",;\"'\t\r\n\x0b\x1f\\:^#@%=-+ ")),
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
    ),
    max_size=25,
)
plain_name = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=20
).filter(lambda value: value.strip())
account_names = st.one_of(plain_name, awkward_text.filter(lambda value: value.strip()))
account_numbers = st.one_of(
    st.from_regex(r"[0-9]{3,5}(-[0-9A-Z]{1,3})?", fullmatch=True),
    awkward_text.filter(lambda value: value.strip()),
)
cents = st.integers(min_value=1, max_value=10_000_000).map(lambda value: Decimal(value) / 100)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


@st.composite
def accounts(draw, account_type: str) -> tuple[str, str, str]:
    return draw(account_numbers), draw(account_names), account_type


def line(account: tuple[str, str, str], amount: Decimal, memo: str) -> GLLine:
    """Debit a positive amount, credit a negative one."""
    number, name, account_type = account
    if amount >= 0:
        return GLLine(number, name, account_type, amount, ZERO, memo)
    return GLLine(number, name, account_type, ZERO, -amount, memo)


@st.composite
def detail_amounts(draw, *, sign: int, max_lines: int = 4) -> list[Decimal]:
    """Mostly on the usual side (sign), sometimes the other (a discount, a refund)."""
    amounts = draw(st.lists(cents, min_size=1, max_size=max_lines))
    flips = draw(st.lists(st.booleans(), min_size=len(amounts), max_size=len(amounts)))
    return [
        amount * sign * (-1 if flip and index else 1)
        for index, (amount, flip) in enumerate(zip(amounts, flips, strict=True))
    ]


@st.composite
def postings(draw, kind: str, record_id: int) -> Posting:
    memo = awkward_text
    if kind == "invoice":
        details = draw(detail_amounts(sign=-1))
        lines = [line(draw(accounts("income")), amount, draw(memo)) for amount in details]
        if draw(st.booleans()):
            tax = draw(st.one_of(st.just(ZERO), cents))
            lines.append(line(draw(accounts("sales_tax")), -tax, draw(memo)))
        control_type = "accounts_receivable"
    elif kind == "product":
        details = draw(detail_amounts(sign=1, max_lines=1))
        lines = [line(draw(accounts("inventory")), details[0], draw(memo))]
        if draw(st.booleans()):
            lines.append(line(draw(accounts("sales_tax")), draw(cents), draw(memo)))
        control_type = "accounts_payable"
    else:
        detail_type = {"expense": "expense", "freight": "freight"}[kind]
        lines = [line(draw(accounts(detail_type)), draw(cents), draw(memo))]
        control_type = "reimbursement" if kind == "expense" else "accounts_payable"
    net = sum((item.debit - item.credit for item in lines), ZERO)
    control = line(draw(accounts(control_type)), -net, draw(memo))
    taxed = any(item.account_type == "sales_tax" for item in lines)
    # The control line comes first on invoices, last elsewhere, as the record apps post.
    lines = [control, *lines] if kind == "invoice" else [*lines, control]
    header = PostingHeader(
        type=kind,
        document=SALE if kind == "invoice" else BILL,
        id=record_id,
        reference=f"{kind.title()} {record_id} {draw(awkward_text)}",
        number=f"{kind[:3].upper()}-{record_id}",
        date=draw(dates),
        due_date=draw(st.one_of(st.none(), dates)),
        company=draw(st.one_of(plain_name, awkward_text)),
        company_identifier=draw(plain_name),
        # As the record apps post: a tax line comes from a tax code.
        tax_code=draw(st.sampled_from(["TX", "GST 10%"] if taxed else ["", "TX"])),
    )
    return Posting(header=header, lines=tuple(lines))


@st.composite
def batches(draw, kinds=("invoice", "expense", "freight", "product"), max_size: int = 6):
    chosen = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=max_size))
    return [draw(postings(kind, index + 1)) for index, kind in enumerate(chosen)]
