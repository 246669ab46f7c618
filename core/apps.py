from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _plan_cursors_for_every_row(sender, connection, **kwargs) -> None:
    """PostgreSQL plans a cursor for reading its first tenth (cursor_tuple_fraction),
    which suits paging through a result but not this product's server-side cursors
    (QuerySet.iterator): a transfer or a batch's postings read every row. Planned for the
    first rows, a batch's invoice lines were read by merging the whole line index up to
    the batch's last invoice (the newest invoices: the whole index) instead of looking
    up the batch's invoices' lines."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET cursor_tuple_fraction = 1")


class CoreConfig(AppConfig):
    """The kernel every app shares. Its label stays "psa", the name the package had
    before the project's wiring moved out to `config`: tables, migrations, content
    types and permissions (psa.add_company, ...) keep their names in existing
    databases."""

    name = "core"
    label = "psa"
    verbose_name = "PSA"

    def ready(self) -> None:
        connection_created.connect(_plan_cursors_for_every_row, dispatch_uid="psa-cursor-plans")
        # Imported here, not at the top: core.tokens defines a model, which cannot be
        # imported before the app registry is ready (Django's app-loading order).
        from core.tokens import connect_signals

        connect_signals()
