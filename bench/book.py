"""A synthetic but realistic book, built in bulk on PostgreSQL.

`build_book(records=N)` fills a freshly migrated database with a mid-size service
provider's two years of work: companies, a chart of GL accounts, tax codes, invoices
with their lines and tax, expense sheets and their entries, purchase orders with
freight and product lines, old GL batches (closed, open, one deleted) with their
transfer log and audit trail, in every state a record goes through. `N` counts the
postable records: invoices + expense entries + purchase orders (freight) + purchase
order lines (products).

Reference data (a few thousand rows) goes through the ORM; the big tables are filled
by `INSERT ... SELECT ... FROM generate_series` on the server, never by ORM saves, so
1,000,000 records take minutes. Every derived column is computed by the same formula
the product uses: an invoice's subtotal is the sum of its lines rounded to cents, its
tax the taxable lines times the tax rate rounded once, `is_closed` follows the status,
`is_approved` the sheet, a product line's total is its amount plus the purchase
order's tax. `check_book` proves these after the load.

The states, by a record's place in time (ids grow with dates, as they do in a real
book):

- the oldest 10% are posted: in one of the history batches (closed, the last two
  open), sent (a transfer-log row each); one in a few hundred of the open batches'
  records was unbatched and is being edited (not ready, its original batch set);
- the next 87% are mostly unposted and ready (3% not finished yet); the most recent
  of them include records of a deleted batch, still in the accounting package (a live
  transfer-log row: the unposted list shows them as previously sent);
- the newest 3% are 40% unfinished (open invoices, sheets not approved, POs open,
  lines not received).
"""

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import connection, transaction

from accounting.models import (
    AuditEvent,
    AuditRecordSet,
    DefaultGLAccount,
    FormerCount,
    FormerRecord,
    FormerState,
    GLAccount,
    GLBatch,
    TaxCode,
    TransferLog,
)
from core.models import Company, DocumentCounter
from core.roles import APPROVER, FINANCE, STAFF
from expenses.models import ExpenseEntry, ExpenseSheet, ExpenseType
from invoicing.models import Invoice, InvoiceLine, InvoiceStatus
from procurement.models import PurchaseOrder, PurchaseOrderLine

START = date(2023, 7, 1)
SPAN_DAYS = 730
POSTED = 0.10  # the oldest records: posted in the history batches
RESENT = 0.90  # from here to RECENT, some records were in the deleted batch
RECENT = 0.97  # the newest records: many not finished yet
ENTRIES_PER_SHEET = 8
FINANCE_USERNAME = "bench-finance"
PASSWORD = "bench-password"

CHART = [
    ("1100", "Accounts Receivable", "accounts_receivable"),
    ("1300", "Inventory", "inventory"),
    ("2000", "Accounts Payable", "accounts_payable"),
    ("2200", "Sales Tax Payable", "sales_tax"),
    ("2300", "Employee Reimbursements", "reimbursement"),
    ("4000", "Managed Services Income", "income"),
    ("4100", "Project Services Income", "income"),
    ("4200", "Hardware Sales", "income"),
    ("4300", "Software Licensing Income", "income"),
    ("5100", "Freight In", "freight"),
    ("5200", "Cost of Hardware", "expense"),
    ("6100", "Travel", "expense"),
    ("6200", "Meals", "expense"),
    ("6300", "Software Subscriptions", "expense"),
    ("6400", "Lodging", "expense"),
    ("6500", "Mileage", "expense"),
    ("6600", "Office Supplies", "expense"),
    ("6700", "Training", "expense"),
    ("6800", "Telephone", "expense"),
]
DEFAULTS = {
    "accounts_receivable": "1100",
    "inventory": "1300",
    "accounts_payable": "2000",
    "sales_tax": "2200",
    "reimbursement": "2300",
    "income": "4000",
    "expense": "6100",
    "freight": "5100",
}
TAX_CODES = [
    ("ST825", "State 8.25%", "8.25"),
    ("ST6", "State 6%", "6.00"),
    ("ST95", "City 9.5%", "9.50"),
]
EXPENSE_TYPES = [
    ("TRAVEL", "Travel", "6100"),
    ("MEALS", "Meals", "6200"),
    ("SOFTWARE", "Software", "6300"),
    ("LODGING", "Lodging", "6400"),
    ("MILEAGE", "Mileage", "6500"),
    ("SUPPLIES", "Supplies", "6600"),
    ("TRAINING", "Training", "6700"),
    ("PHONE", "Phone", "6800"),
]
# Invoice line catalogue: services (hours, not taxable), then hardware (units, taxable).
SERVICES = [
    ("Managed services - per seat", "55.00", "4000"),
    ("Remote support hours", "95.00", "4000"),
    ("Onsite support hours", "125.00", "4100"),
    ("Onboarding project hours", "165.00", "4100"),
    ("After-hours support", "210.00", "4100"),
]
HARDWARE = [
    ("Firewall appliance", "899.00", "4200"),
    ("24-port switch", "340.00", "4200"),
    ("Wireless access point", "129.00", "4200"),
    ("UPS 1500VA", "265.00", "4200"),
    ("Microsoft 365 licence (annual)", "264.00", "4300"),
]
PRODUCTS = [
    ("Laptop 14in business", "780.00"),
    ("24-port switch", "340.00"),
    ("Wireless access point", "129.00"),
    ("UPS 1500VA", "265.00"),
    ("Firewall appliance", "610.00"),
    ("Rack shelf", "45.50"),
]
EXPENSE_TEXT = ["Client visit", "Parking", "Team lunch", "Hotel", "Train ticket", "Licence"]


@dataclass(frozen=True)
class Shape:
    """How many rows of each kind a book of `records` postable records holds."""

    records: int
    invoices: int
    invoice_lines: int
    expenses: int
    sheets: int
    purchase_orders: int
    products: int
    history_batches: int
    clients: int
    vendors: int
    staff: int

    @classmethod
    def for_records(cls, records: int) -> "Shape":
        if records < 1000:
            raise ValueError("A book has at least 1,000 records.")
        invoices = round(records * 0.40)
        purchase_orders = round(records * 0.10)
        products = sum(1 + j % 3 for j in range(1, purchase_orders + 1))
        expenses = records - invoices - purchase_orders - products
        return cls(
            records=records,
            invoices=invoices,
            invoice_lines=sum(1 + i % 4 for i in range(1, invoices + 1)),
            expenses=expenses,
            sheets=math.ceil(expenses / ENTRIES_PER_SHEET),
            purchase_orders=purchase_orders,
            products=products,
            history_batches=max(4, min(50, records // 20000)),
            clients=max(20, min(2000, records // 500)),
            vendors=max(5, min(200, records // 5000)),
            staff=max(5, min(200, records // 5000)),
        )


# --- SQL snippets: the state of row i of n, by its place in time ---------------------


def _fraction(i: str, n: int) -> str:
    return f"((({i}) - 1)::float8 / {n})"


def _day(i: str, n: int) -> str:
    return f"(DATE '{START.isoformat()}' + floor({_fraction(i, n)} * {SPAN_DAYS})::int)"


def _batch(i: str, n: int, h: int) -> str:
    """The history batch (1..h) of a posted row."""
    return f"(1 + floor({_fraction(i, n)} / {POSTED} * {h}))::bigint"


def _unbatch_every(n: int, h: int) -> int:
    """One in this many records of the open history batches is unbatched."""
    in_open_batches = n * POSTED * 2 / h
    return max(2, min(211, int(in_open_batches / 4)))


def _state(i: str, n: int, h: int) -> str:
    """posted | unbatched | notready | resent | ready."""
    f, r, b = _fraction(i, n), f"mod(({i}) * 7919, 1000)", _batch(i, n, h)
    return f"""(CASE
        WHEN {f} < {POSTED} THEN CASE
            WHEN {b} >= {h - 1} AND mod({i}, {_unbatch_every(n, h)}) = 0 THEN 'unbatched'
            ELSE 'posted' END
        WHEN {f} < {RECENT} THEN CASE
            WHEN {r} < 30 THEN 'notready'
            WHEN {f} >= {RESENT} AND {r} < 40 THEN 'resent'
            ELSE 'ready' END
        WHEN {r} < 400 THEN 'notready'
        ELSE 'ready' END)"""


def _rows(n: int, h: int) -> str:
    """i, its date d, state and history batch b, for i in 1..n."""
    return (
        f"(SELECT i, {_day('i', n)} AS d, {_state('i', n, h)} AS state, "
        f"{_batch('i', n, h)} AS b FROM generate_series(1::bigint, {n}) AS i) AS g"
    )


def _array(values: list, cast: str) -> str:
    return f"ARRAY[{', '.join(_literal(v) for v in values)}]::{cast}[]"


def _literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


# Invoice lines: k picks the catalogue item; the formulas are shared by the invoice's
# totals and its lines, so that the totals are exactly the sum of the lines.
CATALOGUE = SERVICES + HARDWARE


def _line_k(i: str, p: str) -> str:
    return f"(1 + mod(({i}) * 3 + ({p}) * 5, {len(CATALOGUE)}))"


def _line_quantity(i: str, p: str, k: str) -> str:
    return (
        f"(CASE WHEN {k} > {len(SERVICES)} THEN (1 + mod(({i}) + ({p}), 4))::numeric "
        f"ELSE (1 + mod(({i}) * 7 + ({p}) * 13, 40))::numeric / 4 END)::numeric(14, 2)"
    )


def _line_price() -> str:
    return _array([price for _name, price, _account in CATALOGUE], "numeric")


# --- the build ------------------------------------------------------------------------


@dataclass
class BuildReport:
    shape: dict
    seconds: float
    steps: dict
    rows: dict


class _Steps:
    def __init__(self, verbose: bool) -> None:
        self.times: dict[str, float] = {}
        self.verbose = verbose

    def run(self, name: str, sql: str | list[str]) -> None:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for statement in [sql] if isinstance(sql, str) else sql:
                cursor.execute(statement)
        self.times[name] = round(time.perf_counter() - started, 3)
        if self.verbose:
            print(f"  {name:<32} {self.times[name]:8.2f} s", flush=True)


def build_book(*, records: int, verbose: bool = True) -> BuildReport:
    """Fill an empty, migrated database with a book of `records` postable records, in
    one transaction (foreign keys and check constraints on), then check it and VACUUM
    ANALYZE it."""
    shape = Shape.for_records(records)
    if Invoice.objects.exists():
        raise RuntimeError("The book is built into an empty database only.")
    started = time.perf_counter()
    steps = _Steps(verbose)
    if verbose:
        print(f"Building a book of {records:,} records: {asdict(shape)}", flush=True)
    ref = _reference_data(shape)
    steps.times["reference data (ORM)"] = round(time.perf_counter() - started, 3)
    commit_started = time.perf_counter()
    with transaction.atomic(), _history_outside_the_audit_chain():
        _history_batches(shape, ref, steps)
        _invoices(shape, ref, steps)
        _expenses(shape, ref, steps)
        _purchase_orders(shape, ref, steps)
        _sent_and_audited(shape, ref, steps)
        _counters_and_sequences(shape, steps)
        commit_started = time.perf_counter()
    commit = "commit (foreign key checks)"
    steps.times[commit] = round(time.perf_counter() - commit_started, 3)
    if verbose:
        print(f"  {commit:<32} {steps.times[commit]:8.2f} s")
    check_book(steps)
    steps.run("vacuum analyze", "VACUUM (ANALYZE)")
    seconds = round(time.perf_counter() - started, 2)
    rows = {
        "invoices": Invoice.objects.count(),
        "invoice_lines": InvoiceLine.objects.count(),
        "expense_sheets": ExpenseSheet.objects.count(),
        "expense_entries": ExpenseEntry.objects.count(),
        "purchase_orders": PurchaseOrder.objects.count(),
        "purchase_order_lines": PurchaseOrderLine.objects.count(),
        "gl_batches": GLBatch.objects.count(),
        "transfer_logs": TransferLog.objects.count(),
        "audit_events": AuditEvent.objects.count(),
        "audit_record_sets": AuditRecordSet.objects.count(),
    }
    postable = (
        rows["invoices"]
        + rows["expense_entries"]
        + rows["purchase_orders"]
        + rows["purchase_order_lines"]
    )
    if postable != records:
        raise AssertionError(f"The book holds {postable} postable records, not {records}.")
    if verbose:
        print(f"Book built in {seconds:.1f} s: {rows}", flush=True)
    return BuildReport(shape=asdict(shape), seconds=seconds, steps=steps.times, rows=rows)


@contextmanager
def _history_outside_the_audit_chain() -> Iterator[None]:
    """The generated history's million audit events are not sealed into the hash chain
    one by one at commit (minutes of work the product never does at once); the events
    the benchmark's own steps write are. `verify_audit` names the unsealed ones."""
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER accounting_audit_seal")
    yield
    with connection.cursor() as cursor:
        # The foreign keys' deferred checks run now: ALTER TABLE waits for none pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER accounting_audit_seal")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _reference_data(shape: Shape) -> dict:
    """Companies, people, the chart of accounts, tax codes, expense types: the ORM."""
    with transaction.atomic():
        created = GLAccount.objects.bulk_create(
            [GLAccount(number=n, name=name, type=t) for n, name, t in CHART]
        )
        accounts = {account.number: account for account in created}
        DefaultGLAccount.objects.bulk_create(
            [DefaultGLAccount(type=t, gl_account=accounts[n]) for t, n in DEFAULTS.items()]
        )
        taxes = TaxCode.objects.bulk_create(
            [
                TaxCode(code=code, name=name, rate=rate, gl_account=accounts["2200"])
                for code, name, rate in TAX_CODES
            ]
        )
        expense_types = ExpenseType.objects.bulk_create(
            [
                ExpenseType(code=code, name=name, gl_account=accounts[n])
                for code, name, n in EXPENSE_TYPES
            ]
        )
        clients = Company.objects.bulk_create(
            [
                Company(identifier=f"C{n:05d}", name=f"Client {n:05d} Ltd", is_client=True)
                for n in range(1, shape.clients + 1)
            ]
        )
        vendors = Company.objects.bulk_create(
            [
                Company(
                    identifier=f"V{n:04d}",
                    name=f"Vendor {n:04d} Inc",
                    is_client=False,
                    is_vendor=True,
                )
                for n in range(1, shape.vendors + 1)
            ]
        )
        password = make_password(PASSWORD)
        finance = User.objects.create(
            username=FINANCE_USERNAME, password=password, first_name="Fran", last_name="Finance"
        )
        approver = User.objects.create(
            username="bench-approver", password=password, first_name="Abe", last_name="Approver"
        )
        staff = User.objects.bulk_create(
            [
                User(
                    username=f"staff{n:03d}",
                    password=password,
                    first_name="Staff",
                    last_name=f"Member {n:03d}",
                )
                for n in range(1, shape.staff + 1)
            ]
        )
        finance.groups.add(Group.objects.get(name=FINANCE))
        approver.groups.add(Group.objects.get(name=APPROVER))
        Group.objects.get(name=STAFF).user_set.add(*staff)
        statuses = dict(InvoiceStatus.objects.values_list("name", "pk"))
    return {
        "accounts": {number: account.pk for number, account in accounts.items()},
        "taxes": [(tax.pk, tax.rate) for tax in taxes],
        "expense_types": [t.pk for t in expense_types],
        "clients": [c.pk for c in clients],
        "vendors": [v.pk for v in vendors],
        "staff": [s.pk for s in staff],
        "finance": finance.pk,
        "approver": approver.pk,
        "statuses": statuses,
    }


def _batch_created(shape: Shape, k: str) -> str:
    """When history batch k was created: at the end of its slice of the posted dates."""
    days = f"floor(({k})::float8 / {shape.history_batches} * {POSTED} * {SPAN_DAYS})::int"
    day = f"(DATE '{START.isoformat()}' + {days})"
    return f"({day}::timestamp + interval '18 hours') AT TIME ZONE 'UTC'"


def _deleted_batch(shape: Shape) -> int:
    return shape.history_batches + 1


def _history_batches(shape: Shape, ref: dict, steps: _Steps) -> None:
    h, finance = shape.history_batches, ref["finance"]
    table = GLBatch._meta.db_table
    deleted_day = START + timedelta(days=int(RESENT * SPAN_DAYS))
    steps.run(
        "gl batches",
        [
            f"""INSERT INTO {table} (id, batch_identifier, status, transfer_method, export_format,
                package, transfer_state, transfer_progress, transfer_error, transfer_started_at,
                transfer_finished_at, is_rerecord, file, created_at, created_by_id, closed_at,
                closed_by_id)
            SELECT k, 'GL-' || lpad(k::text, 5, '0'),
                CASE WHEN k >= {h - 1} THEN 'open' ELSE 'closed' END, 'file', 'gl_journal_csv',
                'other', 'done', 100, '', {_batch_created(shape, "k")},
                {_batch_created(shape, "k")} + interval '2 minutes', false, '',
                {_batch_created(shape, "k")}, {finance},
                CASE WHEN k < {h - 1} THEN {_batch_created(shape, "k")} + interval '7 days' END,
                CASE WHEN k < {h - 1} THEN {finance} END
            FROM generate_series(1::bigint, {h}) AS k""",
            f"""INSERT INTO {table} (id, batch_identifier, status, transfer_method, export_format,
                package, transfer_state, transfer_progress, transfer_error, transfer_started_at,
                transfer_finished_at, is_rerecord, file, created_at, created_by_id, deleted_at,
                deleted_by_id)
            VALUES ({_deleted_batch(shape)}, 'GL-{_deleted_batch(shape):05d}', 'deleted', 'file',
                'gl_journal_csv', 'other', 'done', 100, '',
                TIMESTAMPTZ '{deleted_day.isoformat()} 17:00Z',
                TIMESTAMPTZ '{deleted_day.isoformat()} 17:02Z', false, '',
                TIMESTAMPTZ '{deleted_day.isoformat()} 17:00Z', {finance},
                TIMESTAMPTZ '{deleted_day.isoformat()} 17:30Z', {finance})""",
        ],
    )


def _invoices(shape: Shape, ref: dict, steps: _Steps) -> None:
    n, h = shape.invoices, shape.history_batches
    taxes = ref["taxes"]
    tax_ids = _array([pk for pk, _rate in taxes], "bigint")
    tax_rates = _array([str(rate) for _pk, rate in taxes], "numeric")
    clients = _array(ref["clients"], "bigint")
    statuses = ref["statuses"]
    k = _line_k("g.i", "p")
    line_amount = f"round({_line_quantity('g.i', 'p', k)} * ({_line_price()})[{k}], 2)"
    has_tax = "mod(g.i, 10) < 7"
    tax_pick = f"1 + mod(g.i, {len(taxes)})"
    steps.run(
        "invoices",
        f"""INSERT INTO {Invoice._meta.db_table} (id, number, company_id, date, due_date,
            status_id, is_closed, tax_code_id, subtotal, tax, total, gl_batch_id,
            original_batch_id, created_by_id, created_at)
        SELECT g.i, 'INV-' || (1000 + g.i), ({clients})[1 + mod(g.i * 31, {len(ref["clients"])})],
            g.d, g.d + 30,
            CASE WHEN g.state IN ('notready', 'unbatched')
                THEN CASE WHEN mod(g.i, 3) = 0 THEN {statuses["New"]} ELSE {statuses["Sent"]} END
                ELSE {statuses["Closed"]} END,
            g.state NOT IN ('notready', 'unbatched'),
            CASE WHEN {has_tax} THEN ({tax_ids})[{tax_pick}] END,
            t.subtotal, x.tax, t.subtotal + x.tax,
            CASE WHEN g.state = 'posted' THEN g.b END,
            CASE WHEN g.state = 'unbatched' THEN g.b END,
            {ref["finance"]}, (g.d::timestamp + interval '9 hours') AT TIME ZONE 'UTC'
        FROM {_rows(n, h)}
        CROSS JOIN LATERAL (
            SELECT sum(l.amount) AS subtotal,
                coalesce(sum(l.amount) FILTER (WHERE l.taxable), 0) AS taxable
            FROM (SELECT {line_amount} AS amount, {k} > {len(SERVICES)} AS taxable
                  FROM generate_series(1, 1 + mod(g.i, 4)) AS p) AS l
        ) AS t
        CROSS JOIN LATERAL (
            SELECT CASE WHEN {has_tax}
                THEN round(t.taxable * ({tax_rates})[{tax_pick}] / 100, 2) ELSE 0 END AS tax
        ) AS x""",
    )
    names = _array([name for name, _price, _account in CATALOGUE], "text")
    accounts = _array([ref["accounts"][account] for _n, _p, account in CATALOGUE], "bigint")
    k = _line_k("i", "p")
    quantity = _line_quantity("i", "p", k)
    steps.run(
        "invoice lines",
        f"""INSERT INTO {InvoiceLine._meta.db_table} (invoice_id, position, description,
            quantity, unit_price, amount, gl_account_id, taxable)
        SELECT i, p, ({names})[{k}], {quantity}, ({_line_price()})[{k}],
            round({quantity} * ({_line_price()})[{k}], 2),
            CASE WHEN mod(i + p, 10) = 0 THEN NULL ELSE ({accounts})[{k}] END,
            {k} > {len(SERVICES)}
        FROM generate_series(1::bigint, {n}) AS i
        CROSS JOIN LATERAL generate_series(1, 1 + mod(i, 4)) AS p
        ORDER BY i, p""",
    )


def _expenses(shape: Shape, ref: dict, steps: _Steps) -> None:
    sheets, h = shape.sheets, shape.history_batches
    staff = _array(ref["staff"], "bigint")
    approver = ref["approver"]
    steps.run(
        "expense sheets",
        f"""INSERT INTO {ExpenseSheet._meta.db_table} (id, member_id, period_start, period_end,
            status, submitted_at, approved_at, approved_by_id)
        SELECT g.i, ({staff})[1 + mod(g.i, {len(ref["staff"])})], g.d, g.d + 6, s.status,
            CASE WHEN s.status <> 'open'
                THEN (g.d::timestamp + interval '7 days 17 hours') AT TIME ZONE 'UTC' END,
            CASE WHEN s.status = 'approved'
                THEN (g.d::timestamp + interval '8 days 10 hours') AT TIME ZONE 'UTC' END,
            CASE WHEN s.status = 'approved' THEN {approver} END
        FROM {_rows(sheets, h)}
        CROSS JOIN LATERAL (SELECT CASE
            WHEN g.state = 'unbatched' THEN 'open'
            WHEN g.state = 'notready'
                THEN CASE WHEN mod(g.i, 2) = 0 THEN 'submitted' ELSE 'open' END
            ELSE 'approved' END AS status) AS s""",
    )
    n = shape.expenses
    types = _array(ref["expense_types"], "bigint")
    texts = _array(EXPENSE_TEXT, "text")
    clients = _array(ref["clients"], "bigint")
    sheet = f"(1 + (e - 1) / {ENTRIES_PER_SHEET})"
    first = f"mod(e - 1, {ENTRIES_PER_SHEET}) = 0"
    # An entry takes the state of its sheet; on a reversed sheet (unbatched) the first
    # entry was unbatched and the others are still in the batch, locked.
    steps.run(
        "expense entries",
        f"""INSERT INTO {ExpenseEntry._meta.db_table} (id, sheet_id, date, expense_type_id,
            amount, description, billable, company_id, is_approved, gl_batch_id,
            original_batch_id)
        SELECT e, g.i, g.d + mod(e, 7)::int, ({types})[1 + mod(e * 7, {len(ref["expense_types"])})],
            (5 + mod(e * 37, 480))::numeric + mod(e * 13, 100)::numeric / 100,
            ({texts})[1 + mod(e, {len(EXPENSE_TEXT)})] || ' ' || e,
            mod(e, 4) = 0,
            CASE WHEN mod(e, 4) = 0 THEN ({clients})[1 + mod(e, {len(ref["clients"])})] END,
            g.state IN ('posted', 'ready', 'resent'),
            CASE WHEN g.state = 'posted' OR (g.state = 'unbatched' AND NOT {first}) THEN g.b END,
            CASE WHEN g.state = 'unbatched' AND {first} THEN g.b END
        FROM generate_series(1::bigint, {n}) AS e
        JOIN {_rows(sheets, h)} ON g.i = {sheet}
        ORDER BY e""",
    )


def _purchase_orders(shape: Shape, ref: dict, steps: _Steps) -> None:
    n, h = shape.purchase_orders, shape.history_batches
    taxes = ref["taxes"]
    tax_ids = _array([pk for pk, _rate in taxes], "bigint")
    vendors = _array(ref["vendors"], "bigint")
    freight = (
        "CASE WHEN mod(g.i, 7) = 0 THEN 0::numeric "
        "ELSE (10 + mod(g.i * 17, 240))::numeric + mod(g.i * 11, 100)::numeric / 100 END"
    )
    steps.run(
        "purchase orders (freight)",
        f"""INSERT INTO {PurchaseOrder._meta.db_table} (id, number, vendor_id, date, status,
            tax_code_id, freight_amount, freight_gl_account_id, freight_gl_batch_id,
            freight_original_batch_id, closed_at, created_by_id)
        SELECT g.i, 'PO-' || (1000 + g.i), ({vendors})[1 + mod(g.i * 13, {len(ref["vendors"])})],
            g.d, CASE WHEN g.state IN ('notready', 'unbatched') THEN 'open' ELSE 'closed' END,
            CASE WHEN mod(g.i, 5) < 3 THEN ({tax_ids})[1 + mod(g.i, {len(taxes)})] END,
            f.amount,
            CASE WHEN mod(g.i, 5) = 0 THEN {ref["accounts"]["5100"]} END,
            CASE WHEN g.state = 'posted' AND f.amount <> 0 THEN g.b END,
            CASE WHEN g.state = 'unbatched' AND f.amount <> 0 THEN g.b END,
            CASE WHEN g.state NOT IN ('notready', 'unbatched')
                THEN (g.d::timestamp + interval '5 days 12 hours') AT TIME ZONE 'UTC' END,
            {ref["finance"]}
        FROM {_rows(n, h)}
        CROSS JOIN LATERAL (SELECT {freight} AS amount) AS f""",
    )
    names = _array([name for name, _cost in PRODUCTS], "text")
    costs = _array([cost for _name, cost in PRODUCTS], "numeric")
    rates = _array(["0"] + [str(rate) for _pk, rate in taxes], "numeric")
    rate = f"({rates})[1 + CASE WHEN mod(g.i, 5) < 3 THEN 1 + mod(g.i, {len(taxes)}) ELSE 0 END]"
    amount = f"((1 + mod(g.i + p * 3, 5)) * ({costs})[1 + mod(g.i * 7 + p, {len(PRODUCTS)})])"
    # A closed PO's lines are received and closed (batched with it when posted); an open
    # PO's first line is received but not closed, or, when unbatched, back to unreceived.
    finished = "g.state NOT IN ('notready', 'unbatched')"
    received = (
        f"({finished} OR (g.state = 'notready' AND p = 1) OR (g.state = 'unbatched' AND p > 1))"
    )
    closed = f"({finished} OR (g.state = 'unbatched' AND p > 1))"
    steps.run(
        "purchase order lines (products)",
        f"""INSERT INTO {PurchaseOrderLine._meta.db_table} (purchase_order_id, position,
            description, quantity, unit_cost, amount, total, gl_account_id, received,
            received_date, closed, gl_batch_id, original_batch_id)
        SELECT g.i, p, ({names})[1 + mod(g.i * 7 + p, {len(PRODUCTS)})],
            1 + mod(g.i + p * 3, 5), ({costs})[1 + mod(g.i * 7 + p, {len(PRODUCTS)})],
            a.amount, a.amount + round(a.amount * {rate} / 100, 2),
            CASE WHEN mod(g.i + p, 6) = 0 THEN {ref["accounts"]["5200"]} END,
            {received}, CASE WHEN {received} THEN g.d + 3 END, {closed},
            CASE WHEN g.state = 'posted' OR (g.state = 'unbatched' AND p > 1) THEN g.b END,
            CASE WHEN g.state = 'unbatched' AND p = 1 THEN g.b END
        FROM {_rows(n, h)}
        CROSS JOIN LATERAL generate_series(1, 1 + mod(g.i, 3)) AS p
        CROSS JOIN LATERAL (SELECT {amount} AS amount) AS a
        ORDER BY g.i, p""",
    )


def _kinds_sql(shape: Shape) -> list[dict[str, str]]:
    """Per kind: its table with what a transfer-log row needs, and the SQL state of a
    row (for the records of the deleted batch)."""
    h = shape.history_batches
    return [
        {
            "type": "invoice",
            "from": f"{Invoice._meta.db_table} AS x",
            "batch": "x.gl_batch_id",
            "original": "x.original_batch_id",
            "reference": "'Invoice ' || x.number",
            "dated": "x.date",
            "amount": "x.total",
            "debit": "accounts_receivable",
            "credit": "income",
            "state": _state("x.id", shape.invoices, h),
        },
        {
            "type": "expense",
            "from": f"{ExpenseEntry._meta.db_table} AS x",
            "batch": "x.gl_batch_id",
            "original": "x.original_batch_id",
            "reference": "'Expense ' || x.id",
            "dated": "x.date",
            "amount": "x.amount",
            "debit": "expense",
            "credit": "reimbursement",
            "state": _state("x.sheet_id", shape.sheets, h),
        },
        {
            "type": "freight",
            "from": f"{PurchaseOrder._meta.db_table} AS x",
            "batch": "x.freight_gl_batch_id",
            "original": "x.freight_original_batch_id",
            "reference": "'Freight on PO ' || x.number",
            "dated": "x.date",
            "amount": "x.freight_amount",
            "debit": "freight",
            "credit": "accounts_payable",
            "state": f"(CASE WHEN x.freight_amount = 0 THEN 'zero' "
            f"ELSE {_state('x.id', shape.purchase_orders, h)} END)",
        },
        {
            "type": "product",
            "from": f"{PurchaseOrderLine._meta.db_table} AS x JOIN "
            f"{PurchaseOrder._meta.db_table} AS po ON po.id = x.purchase_order_id",
            "batch": "x.gl_batch_id",
            "original": "x.original_batch_id",
            "reference": "'Product ' || x.id || ' on PO ' || po.number",
            "dated": "po.date",
            "amount": "x.total",
            "debit": "inventory",
            "credit": "accounts_payable",
            "state": _state("x.purchase_order_id", shape.purchase_orders, h),
        },
    ]


def _gl_lines(kind: dict) -> str:
    def line(account_type: str, debit: str, credit: str) -> str:
        return (
            f"jsonb_build_array('{DEFAULTS[account_type]}', "
            f"'{dict((n, name) for n, name, _t in CHART)[DEFAULTS[account_type]]}', "
            f"'{account_type}', {debit}, {credit}, {kind['reference']})"
        )

    amount, zero = f"to_char({kind['amount']}, 'FM999999999990.00')", "'0.00'"
    return (
        f"jsonb_build_array({line(kind['debit'], amount, zero)}, "
        f"{line(kind['credit'], zero, amount)})"
    )


def _sent_and_audited(shape: Shape, ref: dict, steps: _Steps) -> None:
    """What the history batches sent (transfer log) and the audit trail of it."""
    logs, audit = TransferLog._meta.db_table, AuditEvent._meta.db_table
    sets = AuditRecordSet._meta.db_table
    batches = GLBatch._meta.db_table
    deleted = _deleted_batch(shape)
    statements = []
    for kind in _kinds_sql(shape):
        fingerprint = (
            f"encode(sha256(convert_to('{kind['type']}:' || x.id || ':' || {kind['amount']}, "
            f"'UTF8')), 'hex')"
        )
        for where, batch in (
            (
                f"{kind['batch']} IS NOT NULL OR {kind['original']} IS NOT NULL",
                f"coalesce({kind['batch']}, {kind['original']})",
            ),
            (f"{kind['state']} = 'resent'", str(deleted)),
        ):
            statements.append(
                f"""INSERT INTO {logs} (batch_id, record_type, record_id, reference, package,
                    method, export_format, gl_lines, fingerprint, external_reference, sent_at,
                    removal)
                SELECT b.id, '{kind["type"]}', x.id, {kind["reference"]}, 'other', 'file',
                    'gl_journal_csv', {_gl_lines(kind)}, {fingerprint}, '',
                    b.transfer_finished_at, ''
                FROM {kind["from"]} JOIN {batches} AS b ON b.id = {batch}
                WHERE {where}
                ORDER BY x.id"""
            )
        # Every record's own trail starts with its creation, as the services audit it.
        statements.append(
            f"""INSERT INTO {audit} (at, actor_id, action, record_type, record_id, batch_id,
                changes)
            SELECT {kind["dated"]}::timestamp AT TIME ZONE 'UTC', {ref["finance"]}, 'created',
                '{kind["type"]}', x.id, NULL, '{{}}'::jsonb
            FROM {kind["from"]} ORDER BY x.id"""
        )
        statements.append(
            f"""INSERT INTO {audit} (at, actor_id, action, record_type, record_id, batch_id,
                changes)
            SELECT b.created_at + interval '10 days', {ref["finance"]}, 'unbatched',
                '{kind["type"]}', x.id, b.id, '{{}}'::jsonb
            FROM {kind["from"]} JOIN {batches} AS b ON b.id = {kind["original"]}"""
        )
    statements += [
        f"""INSERT INTO {audit} (at, actor_id, action, record_type, record_id, batch_id, changes)
        SELECT e.at, {ref["finance"]}, e.action, '', NULL, b.id, '{{}}'::jsonb
        FROM {batches} AS b CROSS JOIN LATERAL (VALUES
            ('batch_created', b.created_at), ('transfer_done', b.transfer_finished_at),
            ('batch_closed', b.closed_at), ('batch_deleted', b.deleted_at)) AS e(action, at)
        WHERE e.at IS NOT NULL""",
        # Each batch step's audit event and, per kind, the sorted ids of the records it
        # moved.
        f"""INSERT INTO {sets} (event_id, record_type, record_ids)
        SELECT e.id, l.record_type, array_agg(l.record_id ORDER BY l.record_id)
        FROM {logs} AS l JOIN {audit} AS e ON e.batch_id = l.batch_id
        WHERE e.action = 'batch_created' GROUP BY e.id, l.record_type""",
        f"""INSERT INTO {sets} (event_id, record_type, record_ids)
        SELECT e.id, l.record_type, array_agg(l.record_id ORDER BY l.record_id)
        FROM {logs} AS l JOIN {audit} AS e ON e.batch_id = l.batch_id
        WHERE e.action = 'batch_deleted' AND l.batch_id = {deleted}
        GROUP BY e.id, l.record_type""",
        # The deleted batch's split, stored at its delete: all sent, none changed since.
        f"""INSERT INTO {FormerRecord._meta.db_table} (batch_id, state, record_type,
            record_id, sent_at)
        SELECT l.batch_id, {FormerState.UNCHANGED.value}, l.record_type, l.record_id, l.sent_at
        FROM {logs} AS l WHERE l.batch_id = {deleted}""",
        f"""INSERT INTO {FormerCount._meta.db_table} (batch_id, state, record_type, records)
        SELECT l.batch_id, {FormerState.UNCHANGED.value}, l.record_type, count(*)
        FROM {logs} AS l WHERE l.batch_id = {deleted} GROUP BY l.batch_id, l.record_type""",
    ]
    steps.run("transfer log + audit trail", statements)


def _counters_and_sequences(shape: Shape, steps: _Steps) -> None:
    counters = DocumentCounter._meta.db_table
    statements = [
        f"""INSERT INTO {counters} (name, value) VALUES
            ('invoice', {1000 + shape.invoices}),
            ('purchase_order', {1000 + shape.purchase_orders}),
            ('gl_batch', {_deleted_batch(shape)})"""
    ]
    for model in (Invoice, ExpenseSheet, ExpenseEntry, PurchaseOrder, GLBatch):
        table = model._meta.db_table
        statements.append(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )
    steps.run("counters + sequences", statements)


# What must hold for the book to be one the product could have made.
CONSISTENCY = {
    "invoice totals are the sum of the lines": f"""
        SELECT count(*) FROM {Invoice._meta.db_table} AS i JOIN (
            SELECT invoice_id, sum(amount) AS subtotal,
                coalesce(sum(amount) FILTER (WHERE taxable), 0) AS taxable
            FROM {InvoiceLine._meta.db_table} GROUP BY invoice_id) AS l ON l.invoice_id = i.id
        LEFT JOIN {TaxCode._meta.db_table} AS t ON t.id = i.tax_code_id
        WHERE i.subtotal <> l.subtotal OR i.total <> i.subtotal + i.tax
           OR i.tax <> coalesce(round(l.taxable * t.rate / 100, 2), 0)""",
    "line amounts are quantity times price": f"""
        SELECT count(*) FROM {InvoiceLine._meta.db_table}
        WHERE amount <> round(quantity * unit_price, 2)""",
    "invoice is_closed follows its status": f"""
        SELECT count(*) FROM {Invoice._meta.db_table} AS i
        JOIN {InvoiceStatus._meta.db_table} AS s ON s.id = i.status_id
        WHERE i.is_closed <> s.is_closed""",
    "expense is_approved follows its sheet": f"""
        SELECT count(*) FROM {ExpenseEntry._meta.db_table} AS e
        JOIN {ExpenseSheet._meta.db_table} AS s ON s.id = e.sheet_id
        WHERE e.is_approved <> (s.status = 'approved')""",
    "product totals carry the PO's tax": f"""
        SELECT count(*) FROM {PurchaseOrderLine._meta.db_table} AS l
        JOIN {PurchaseOrder._meta.db_table} AS po ON po.id = l.purchase_order_id
        LEFT JOIN {TaxCode._meta.db_table} AS t ON t.id = po.tax_code_id
        WHERE l.amount <> round(l.quantity * l.unit_cost, 2)
           OR l.total <> l.amount + coalesce(round(l.amount * t.rate / 100, 2), 0)""",
    "batched records are finished (expenses: or on a reversed sheet)": f"""
        SELECT (SELECT count(*) FROM {Invoice._meta.db_table}
                WHERE gl_batch_id IS NOT NULL AND NOT is_closed)
             + (SELECT count(*) FROM {PurchaseOrderLine._meta.db_table}
                WHERE gl_batch_id IS NOT NULL AND NOT (received AND closed))
             + (SELECT count(*) FROM {PurchaseOrder._meta.db_table}
                WHERE freight_gl_batch_id IS NOT NULL AND status <> 'closed')""",
}


def check_book(steps: _Steps | None = None) -> None:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for name, sql in CONSISTENCY.items():
            cursor.execute(sql)
            wrong = cursor.fetchone()[0]
            if wrong:
                raise AssertionError(f"The book is inconsistent: {name} ({wrong} rows).")
    if steps is not None:
        steps.times["check consistency"] = round(time.perf_counter() - started, 3)
        if steps.verbose:
            print(f"  {'check consistency':<32} {steps.times['check consistency']:8.2f} s")


def finance_user() -> User:
    return User.objects.get(username=FINANCE_USERNAME)
