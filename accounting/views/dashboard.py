"""Finance > Dashboard: where the month-end work stands, in two charts and three lists.

The charts' numbers go into the page as JSON data blocks (`json_script`), which
static/js/dashboard.js reads to draw them with Chart.js; each chart has its data as a
table beside it, so nothing is told by the drawing alone."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounting.selectors.dashboard import AGE_BUCKETS, finance_dashboard
from accounting.views.common import VIEW


@login_required
@permission_required(VIEW, raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    data = finance_dashboard()
    unposted = data["unposted"]
    per_day = data["per_day"]["days"]
    charts = {
        "unposted": {
            "labels": unposted["buckets"],
            "series": [
                {"label": series["label"], "values": series["counts"]}
                for series in unposted["series"]
            ],
        },
        "perDay": {
            "labels": [row["day"].strftime("%d %b") for row in per_day],
            "batches": [row["batches"] for row in per_day],
            # Drawn only; the table beside the chart shows the exact amounts.
            "totals": [float(row["total"]) for row in per_day],
        },
    }
    return render(
        request,
        "accounting/dashboard.html",
        {
            **data,
            "charts": charts,
            "age_buckets": [label for label, _oldest, _newest in AGE_BUCKETS],
            "busy_days": [row for row in reversed(per_day) if row["batches"] or row["records"]],
            "unbatched_count": sum(group.count for group in data["unbatched"]),
        },
    )
