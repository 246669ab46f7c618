from django.db import transaction
from django.db.models import F

from core.models import DocumentCounter


def counter_next(*, name: str, start: int = 1000, count: int = 1) -> int:
    """Reserve `count` numbers of a series and return the first one.

    The counter row is created once, then incremented in place under its row lock,
    so two concurrent callers never get the same number.
    """
    with transaction.atomic():
        DocumentCounter.objects.get_or_create(name=name, defaults={"value": start})
        counter = DocumentCounter.objects.select_for_update().get(name=name)
        DocumentCounter.objects.filter(pk=counter.pk).update(value=F("value") + count)
        return counter.value + 1
