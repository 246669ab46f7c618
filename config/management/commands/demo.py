"""Demo data: a small managed-service provider's book at month end."""

import datetime as dt
import random
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction

from accounting import services as accounting
from accounting.models import AccountingSetup, DefaultGLAccount, GLAccount, TaxCode
from core.models import Company
from expenses import services as expense_services
from expenses.models import ExpenseEntry, ExpenseType
from invoicing import services as invoice_services
from invoicing.models import Invoice, InvoiceStatus
from procurement import services as po_services

CHART = [
    ("1100", "Accounts Receivable", "accounts_receivable"),
    ("1300", "Inventory", "inventory"),
    ("2000", "Accounts Payable", "accounts_payable"),
    ("2200", "Sales Tax Payable", "sales_tax"),
    ("2300", "Employee Reimbursements", "reimbursement"),
    ("4000", "Managed Services Income", "income"),
    ("4100", "Project Services Income", "income"),
    ("4200", "Hardware Sales", "income"),
    ("5100", "Freight In", "freight"),
    ("6100", "Travel", "expense"),
    ("6200", "Meals", "expense"),
    ("6300", "Software Subscriptions", "expense"),
]
CLIENTS = [
    "Acme Dental Group",
    "Birch & Lowe LLP",
    "Cobalt Logistics",
    "Delta Family Clinic",
    "Evergreen Schools",
    "Fairview Realty",
    "Granite Manufacturing",
    "Harbor Credit Union",
]
VENDORS = ["Ingram Distribution", "TD Synnex", "Pax8"]
SERVICES = [
    ("Managed services - per seat", "4000", "55.00"),
    ("Onboarding project", "4100", "165.00"),
    ("Firewall appliance", "4200", "899.00"),
    ("After-hours support", "4100", "210.00"),
]
HARDWARE = [
    ("Laptop 14in business", "780.00"),
    ("24-port switch", "340.00"),
    ("Wireless access point", "129.00"),
    ("UPS 1500VA", "265.00"),
]


class Command(BaseCommand):
    help = "Load demo companies, accounts, invoices, expenses, purchase orders and batches."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when the book already has invoices."
        )
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, if_empty=False, seed=7, **options):
        if if_empty and Invoice.objects.exists():
            self.stdout.write("Demo data already loaded.")
            return
        rng = random.Random(seed)
        with transaction.atomic():
            people = self._people()
            ref = self._reference_data()
        finance, approver, staff = people["finance"], people["approver"], people["staff"]
        today = dt.date.today()
        month_start = today.replace(day=1)
        statuses = {s.name: s for s in InvoiceStatus.objects.all()}

        invoices = []
        for n in range(36):
            client = rng.choice(ref["clients"])
            day = month_start - dt.timedelta(days=rng.randint(0, 40))
            lines = []
            for _ in range(rng.randint(1, 3)):
                description, account, price = rng.choice(SERVICES)
                lines.append(
                    {
                        "description": description,
                        "quantity": Decimal(rng.randint(1, 25)),
                        "unit_price": Decimal(price),
                        "gl_account": ref["accounts"][account],
                        "taxable": account == "4200",
                    }
                )
            invoice = invoice_services.invoice_create(
                actor=finance,
                company=client,
                date=day,
                due_date=day + dt.timedelta(days=30),
                tax_code=ref["tax"],
                lines=lines,
            )
            target = "Closed" if n % 6 else rng.choice(["New", "Sent"])
            if target != "New":
                invoice = invoice_services.invoice_update(
                    actor=finance, invoice=invoice, status=statuses[target]
                )
            invoices.append(invoice)

        entries = []
        for week in range(6):
            start = month_start - dt.timedelta(days=7 * week + 7)
            member = rng.choice([staff, people["morgan"]])
            sheet = expense_services.expense_sheet_create(
                actor=member,
                member=member,
                period_start=start,
                period_end=start + dt.timedelta(days=6),
            )
            for _ in range(rng.randint(2, 4)):
                kind = rng.choice(ref["expense_types"])
                entries.append(
                    expense_services.expense_entry_create(
                        actor=member,
                        sheet=sheet,
                        date=start + dt.timedelta(days=rng.randint(0, 6)),
                        expense_type=kind,
                        amount=Decimal(rng.randint(800, 25000)) / 100,
                        description=f"{kind.name} - {rng.choice(ref['clients']).name}",
                        company=rng.choice(ref["clients"]),
                    )
                )
            if week >= 1:
                expense_services.expense_sheet_submit(actor=member, sheet=sheet)
            if week >= 2:
                expense_services.expense_sheet_approve(actor=approver, sheet=sheet)

        for n in range(10):
            po = po_services.purchase_order_create(
                actor=finance,
                vendor=rng.choice(ref["vendors"]),
                date=month_start - dt.timedelta(days=rng.randint(0, 30)),
                tax_code=ref["tax"],
                freight_amount=Decimal(rng.choice([0, 18, 25, 42])),
                lines=[
                    {
                        "description": d,
                        "quantity": Decimal(rng.randint(1, 6)),
                        "unit_cost": Decimal(c),
                    }
                    for d, c in rng.sample(HARDWARE, 2)
                ],
            )
            for line in po.lines.all()[: (2 if n % 3 else 1)]:
                po_services.purchase_order_line_receive(
                    actor=finance, line=line, received_date=po.date
                )
            if n % 4:
                po_services.purchase_order_update(actor=finance, purchase_order=po, status="closed")

        closed_ids = [i for i in invoices if i.is_closed]
        first = accounting.batch_create(
            actor=finance,
            items=[{"type": "invoice", "id": i.pk} for i in closed_ids[:8]],
            batch_identifier=f"GL-{month_start:%Y%m}-01",
        )
        # Closing needs the transfer done; run it here whether or not a worker is up
        # (a transfer is idempotent, so the queued task then finds nothing to do).
        accounting.batch_transfer_run(batch_id=first.pk)
        accounting.batch_close(actor=finance, batch_id=first.pk)
        second = accounting.batch_create(
            actor=finance,
            items=[{"type": "invoice", "id": i.pk} for i in closed_ids[8:14]]
            + [
                {"type": "expense", "id": pk}
                for pk in ExpenseEntry.objects.filter(is_approved=True)
                .order_by("pk")
                .values_list("pk", flat=True)[:4]
            ],
            batch_identifier=f"GL-{month_start:%Y%m}-02",
        )
        accounting.record_unbatch(actor=finance, record_type="invoice", record_id=closed_ids[8].pk)
        third = accounting.batch_create(
            actor=finance,
            items=[{"type": "invoice", "id": i.pk} for i in closed_ids[14:17]],
            batch_identifier=f"GL-{month_start:%Y%m}-03",
        )
        accounting.batch_delete(actor=finance, batch_id=third.pk)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded: {len(invoices)} invoices, {len(entries)} expense entries, "
                f"10 purchase orders, batches {first}, {second}, {third} (deleted). "
                "Sign in as finance / finance (also approver, staff, admin)."
            )
        )

    def _people(self):
        people = {}
        for username, role, first, last in [
            ("finance", "Finance", "Fiona", "Reyes"),
            ("approver", "Approver", "Arthur", "Klein"),
            ("staff", "Staff", "Sam", "Okafor"),
            ("morgan", "Staff", "Morgan", "Lee"),
        ]:
            # Finance keeps the setup tables, which live in the admin site.
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "is_staff": role == "Finance"},
            )
            if created:
                user.set_password(username)
                user.save()
            user.groups.add(Group.objects.get(name=role))
            people[username] = user
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser("admin", "admin@example.com", "admin")
        return people

    def _reference_data(self):
        accounts = {}
        for number, name, account_type in CHART:
            accounts[number], _ = GLAccount.objects.get_or_create(
                number=number, defaults={"name": name, "type": account_type}
            )
        for number in ("1100", "1300", "2000", "2200", "2300", "4000", "5100", "6100"):
            account = accounts[number]
            DefaultGLAccount.objects.update_or_create(
                type=account.type, defaults={"gl_account": account}
            )
        tax, _ = TaxCode.objects.get_or_create(
            code="TX",
            defaults={
                "name": "Texas sales tax",
                "rate": Decimal("8.25"),
                "gl_account": accounts["2200"],
            },
        )
        expense_types = [
            ExpenseType.objects.get_or_create(
                code=code, defaults={"name": name, "gl_account": accounts[number]}
            )[0]
            for code, name, number in [
                ("TRAVEL", "Travel", "6100"),
                ("MEALS", "Meals", "6200"),
                ("SOFTWARE", "Software", "6300"),
            ]
        ]
        clients = [
            Company.objects.get_or_create(
                identifier=name.split()[0].upper()[:10], defaults={"name": name}
            )[0]
            for name in CLIENTS
        ]
        vendors = [
            Company.objects.get_or_create(
                identifier=name.split()[0].upper()[:10],
                defaults={"name": name, "is_client": False, "is_vendor": True},
            )[0]
            for name in VENDORS
        ]
        AccountingSetup.objects.filter(pk=1).update(
            package="quickbooks_desktop", export_format="iif"
        )
        return {
            "accounts": accounts,
            "tax": tax,
            "expense_types": expense_types,
            "clients": clients,
            "vendors": vendors,
        }
