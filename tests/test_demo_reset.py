"""manage.py demo_reset: the demo book from scratch, only on a DEBUG server and only
when asked with --yes."""

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from accounting.models import GLBatch
from invoicing.models import Invoice


def test_demo_reset_refuses_without_debug_or_yes(db, settings, make_invoice):
    invoice = make_invoice()
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DEBUG on"):
        call_command("demo_reset", yes=True)
    settings.DEBUG = True
    with pytest.raises(CommandError, match="--yes"):
        call_command("demo_reset")
    assert Invoice.objects.filter(pk=invoice.pk).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_demo_reset_starts_the_demo_book_again(
    settings, tmp_path, make_invoice, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path
    mine = make_invoice().number
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_reset", yes=True)
    assert not Invoice.objects.filter(number=mine, company__name="Acme Corp").exists()
    assert Invoice.objects.count() == 36
    assert GLBatch.objects.count() == 3
    assert set(User.objects.values_list("username", flat=True)) >= {
        "finance",
        "approver",
        "staff",
        "admin",
    }
