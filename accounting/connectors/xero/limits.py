"""Xero's limits per organisation, kept for every process of the PSA together (the
workers, the web): calls in the last minute, calls a day and calls in flight, held in
PostgreSQL, which every process shares.

- Calls a minute and a day: each call is a row (`XeroCall`). A process takes its turn
  under a transaction-scoped advisory lock of the organisation: it counts the calls of
  the last window and adds its own, or learns how long to wait. Rows older than a day
  go as new ones come.
- Calls in flight: one of XERO_CALLS_IN_FLIGHT session-level advisory locks of the
  organisation is held for the length of the call. A process that dies lets go of its
  lock with its database connection, so a slot is never lost.
"""

import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounting.models import XeroCall
from core.errors import ApplicationError

_NAMESPACE = 0x5845520000000000  # the Xero limits' keys, apart from other advisory locks
_TURN = 0xFF  # the key of the turn on the minute and the day; the slots are 0 to 254
DAY = timedelta(days=1)
SLOT_POLL_SECONDS = 0.05
# Xero counts a call when it arrives, a little after the PSA counted it: a call's place
# in the minute comes free this much after Xero's own window has let it go.
MARGIN = timedelta(seconds=1)


def _key(tenant: str, part: int) -> int:
    return _NAMESPACE + (zlib.crc32(tenant.encode()) << 8) + part


class OrganisationLimits:
    """One organisation's limits, as every process keeps them."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant

    def wait_turn(self, on_wait: Callable[[datetime | None], None]) -> bool:
        """Takes a call's place in the minute and the day; answers whether it had to
        wait. A day's limit reached stops with the time it is lifted."""
        waited = False
        while True:
            pause = self._take_turn()
            if pause is None:
                return waited
            waited = True
            on_wait(timezone.now() + timedelta(seconds=pause))
            time.sleep(pause)

    def _take_turn(self) -> float | None:
        window = timedelta(seconds=settings.XERO_MINUTE_SECONDS) + MARGIN
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_key(self.tenant, _TURN)])
            now = timezone.now()
            calls = XeroCall.objects.filter(tenant_id=self.tenant)
            minute = list(
                calls.filter(at__gt=now - window)
                .order_by("at")
                .values_list("at", flat=True)[: settings.XERO_CALLS_A_MINUTE]
            )
            if len(minute) >= settings.XERO_CALLS_A_MINUTE:
                return max((minute[0] + window - now).total_seconds(), 0.01)
            day = calls.filter(at__gt=now - DAY)
            if day.count() >= settings.XERO_CALLS_A_DAY:
                first = day.order_by("at").values_list("at", flat=True)[0]
                until = first + DAY
                raise ApplicationError(
                    f"Xero's day limit of calls is reached until "
                    f"{timezone.localtime(until):%d %b %Y %H:%M}; retry the transfer then: "
                    "what Xero has already is not sent twice.",
                    code="package_rate_limited",
                    status_code=429,
                )
            calls.filter(at__lte=now - DAY).delete()
            XeroCall.objects.create(tenant_id=self.tenant, at=now)
            return None

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Holds one of the organisation's slots for calls in flight while the block
        runs, waiting for one to come free."""
        slots = [_key(self.tenant, slot) for slot in range(settings.XERO_CALLS_IN_FLIGHT)]
        held = None
        while held is None:
            with connection.cursor() as cursor:
                for key in slots:
                    cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
                    if cursor.fetchone()[0]:
                        held = key
                        break
            if held is None:
                time.sleep(SLOT_POLL_SECONDS)
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [held])
