"""The browser UI: sign-in, the home page, and each app's screens."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from config import help, home

urlpatterns = [
    path("", home.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("help/", help.help_index, name="help_index"),
    path("help/<slug:slug>/", help.help_topic, name="help_topic"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("invoicing.urls")),
    path("", include("expenses.urls")),
    path("", include("procurement.urls")),
    path("", include("accounting.urls")),
    path("", include("cwapi.web_urls")),
]
