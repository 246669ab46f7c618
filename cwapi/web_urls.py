"""The browser page of a user's own API keys."""

from django.urls import path

from cwapi import views

app_name = "api_keys"

urlpatterns = [
    path("account/api-keys/", views.api_keys, name="list"),
    path("account/api-keys/new/", views.api_key_create, name="create"),
    path("account/api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="revoke"),
]
