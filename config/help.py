"""Help in place: a short page for each procedure of the finance clerk (the vendor's
"edit or delete GL batch items" steps in the product's words), and which of them each
screen links to."""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render


@dataclass(frozen=True)
class Topic:
    slug: str
    title: str


TOPICS = [
    Topic("invoice", "Fix a batched invoice"),
    Topic("expense", "Fix a batched expense"),
    Topic("freight", "Fix the freight of a purchase order"),
    Topic("product", "Fix a product line of a purchase order"),
    Topic("transfer", "Send records in a batch"),
    Topic("delete-batch", "Delete a batch and re-record"),
    Topic("direct-transfer", "Clear and restore Direct Transfer"),
    Topic("books-check", "Check the books"),
]
BY_SLUG = {topic.slug: topic for topic in TOPICS}

# The help each screen links to, by the screen's view name.
SCREEN_HELP = {
    "invoicing:invoice_list": ["invoice"],
    "invoicing:invoice_detail": ["invoice"],
    "expenses:entry_list": ["expense"],
    "expenses:entry_detail": ["expense"],
    "expenses:sheet_detail": ["expense"],
    "procurement:po_list": ["freight", "product"],
    "procurement:po_detail": ["freight", "product"],
    "procurement:line_detail": ["product"],
    "accounting:interface": ["transfer", "delete-batch"],
    "accounting:unposted": ["transfer", "delete-batch"],
    "accounting:batch_list": ["delete-batch", "transfer"],
    "accounting:batch_detail": ["delete-batch", "transfer"],
    "accounting:batch_action": ["delete-batch"],
    "accounting:books_check": ["books-check"],
    "accounting:dashboard": ["transfer", "delete-batch"],
}


def topics_for(view_name: str | None) -> list[Topic]:
    return [BY_SLUG[slug] for slug in SCREEN_HELP.get(view_name or "", [])]


@login_required
def help_index(request: HttpRequest) -> HttpResponse:
    return render(request, "help/index.html", {"topics": TOPICS})


@login_required
def help_topic(request: HttpRequest, slug: str) -> HttpResponse:
    topic = BY_SLUG.get(slug)
    if topic is None:
        raise Http404(f"There is no help page called {slug}.")
    return render(request, f"help/{slug}.html", {"topic": topic, "topics": TOPICS})
