from django.contrib import admin, messages

from cwapi import keys
from cwapi.models import ApiMemberKey


@admin.register(ApiMemberKey)
class ApiMemberKeyAdmin(admin.ModelAdmin):
    """Keys are issued with `manage.py cw_api_key USERNAME` (the private key is shown
    once, there); here they are listed and revoked."""

    list_display = ["public_key", "user", "description", "created", "last_used", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["public_key", "user__username", "description"]
    readonly_fields = ["user", "public_key", "created", "last_used", "revoked_at"]
    fields = ["user", "public_key", "description", "created", "last_used", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset) -> None:
        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True):
            keys.api_key_revoke(key_id=key.pk, actor=request.user)
            revoked += 1
        self.message_user(request, f"{revoked} key(s) revoked.", messages.SUCCESS)
