"""The stress book, in the private database: `python -m stress.book --records N`, run
by the harness with the stack's environment after `manage.py demo` (people, chart of
accounts, tax codes, companies, a month of records made through the services).

On top of the demo, N finished, unposted records of every kind are inserted in bulk
through the ORM, the way the worker tests make theirs: closed invoices (one line each),
approved expense entries (sheets of eight), closed purchase orders with freight and one
received, closed product line each. Prints one JSON line."""

import argparse
import datetime as dt
import json
import time
from decimal import Decimal

USERNAME, PASSWORD = "finance", "finance"  # the demo's Finance user
CHUNK = 5000


def build(records: int, seed: int = 12) -> dict:
    import random

    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    from core.models import Company
    from expenses.models import ExpenseEntry, ExpenseSheet, ExpenseType
    from invoicing.models import Invoice, InvoiceLine, InvoiceStatus
    from procurement.models import PurchaseOrder, PurchaseOrderLine

    rng = random.Random(seed)
    finance = User.objects.get(username=USERNAME)
    approver = User.objects.get(username="approver")
    staff = User.objects.get(username="staff")
    clients = list(Company.objects.filter(is_client=True))
    vendors = list(Company.objects.filter(is_vendor=True))
    closed = InvoiceStatus.objects.filter(is_closed=True).order_by("pk").first()
    types = list(ExpenseType.objects.all())
    today = dt.date.today()
    now = timezone.now()
    invoices = records * 4 // 10
    expenses = records * 3 // 10
    orders = (records - invoices - expenses) // 2
    products = records - invoices - expenses - orders
    began = time.perf_counter()

    def day() -> dt.date:
        return today - dt.timedelta(days=rng.randint(1, 60))

    with transaction.atomic():
        for start in range(0, invoices, CHUNK):
            made = Invoice.objects.bulk_create(
                Invoice(
                    number=f"S-{n:07d}",
                    company=rng.choice(clients),
                    date=day(),
                    status=closed,
                    is_closed=True,
                    subtotal=Decimal(amount),
                    tax=Decimal("0"),
                    total=Decimal(amount),
                    created_by=finance,
                )
                for n, amount in (
                    (n, f"{rng.randint(50, 5000)}.{rng.randint(0, 99):02d}")
                    for n in range(start, min(start + CHUNK, invoices))
                )
            )
            InvoiceLine.objects.bulk_create(
                InvoiceLine(
                    invoice=invoice,
                    description="Managed services - per seat",
                    quantity=Decimal("1"),
                    unit_price=invoice.subtotal,
                    amount=invoice.subtotal,
                    taxable=False,
                )
                for invoice in made
            )
        sheets = ExpenseSheet.objects.bulk_create(
            ExpenseSheet(
                member=staff,
                period_start=today - dt.timedelta(days=60),
                period_end=today,
                status="approved",
                submitted_at=now,
                approved_at=now,
                approved_by=approver,
            )
            for _ in range(-(-expenses // 8))
        )
        for start in range(0, expenses, CHUNK):
            ExpenseEntry.objects.bulk_create(
                ExpenseEntry(
                    sheet=sheets[n // 8],
                    date=day(),
                    expense_type=rng.choice(types),
                    amount=Decimal(f"{rng.randint(5, 400)}.{rng.randint(0, 99):02d}"),
                    description=f"Stress expense {n}",
                    is_approved=True,
                )
                for n in range(start, min(start + CHUNK, expenses))
            )
        for start in range(0, orders, CHUNK):
            made = PurchaseOrder.objects.bulk_create(
                PurchaseOrder(
                    number=f"SPO-{n:07d}",
                    vendor=rng.choice(vendors),
                    date=day(),
                    status="closed",
                    freight_amount=Decimal(f"{rng.randint(10, 90)}.00"),
                    closed_at=now,
                    created_by=finance,
                )
                for n in range(start, min(start + CHUNK, orders))
            )
            PurchaseOrderLine.objects.bulk_create(
                PurchaseOrderLine(
                    purchase_order=order,
                    description="24-port switch",
                    quantity=Decimal("1"),
                    unit_cost=Decimal("340.00"),
                    amount=Decimal("340.00"),
                    total=Decimal("340.00"),
                    received=True,
                    received_date=order.date,
                    closed=True,
                )
                for order in made[: max(0, min(CHUNK, products - start))]
            )
    return {
        "seconds": round(time.perf_counter() - began, 1),
        "rows": {
            "invoices": Invoice.objects.count(),
            "expense_entries": ExpenseEntry.objects.count(),
            "purchase_orders": PurchaseOrder.objects.count(),
            "purchase_order_lines": PurchaseOrderLine.objects.count(),
        },
        "username": USERNAME,
        "password": PASSWORD,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m stress.book")
    parser.add_argument("--records", type=int, required=True)
    args = parser.parse_args()
    import django

    django.setup()
    from django.db import connection

    report = build(args.records)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
