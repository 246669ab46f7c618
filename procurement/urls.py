from django.urls import path

from procurement import views

app_name = "procurement"

urlpatterns = [
    path("procurement/purchase-orders/", views.po_list, name="po_list"),
    path(
        "procurement/purchase-orders/<int:purchase_order_id>/",
        views.po_detail,
        name="po_detail",
    ),
    path("procurement/products/<int:line_id>/", views.line_detail, name="line_detail"),
    path("procurement/products/<int:line_id>/closed/", views.line_closed, name="line_closed"),
    path("procurement/products/<int:line_id>/receive/", views.line_receive, name="line_receive"),
    path(
        "procurement/products/<int:line_id>/unreceive/",
        views.line_unreceive,
        name="line_unreceive",
    ),
]
