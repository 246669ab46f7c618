"""A user's permissions, their own and their groups', read in one query once per
request (Django's ModelBackend reads them in two). Listed before ModelBackend, which
still signs users in and keeps their sessions (this one signs no one in and loads no
user): it finds the permissions already read (the same per-user cache) and reads
nothing more."""

from typing import Any

from django.contrib.auth.models import Permission
from django.db.models import Q


class PermissionBackend:
    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return user_obj.is_active and perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return user_obj.is_active and any(
            perm[: perm.index(".")] == app_label for perm in self.get_all_permissions(user_obj)
        )

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                permissions = Permission.objects.all()
            else:
                permissions = Permission.objects.filter(
                    Q(pk__in=user_obj.user_permissions.values("pk"))
                    | Q(pk__in=Permission.objects.filter(group__user=user_obj).values("pk"))
                )
            user_obj._perm_cache = {
                f"{app_label}.{codename}"
                for app_label, codename in permissions.values_list(
                    "content_type__app_label", "codename"
                ).order_by()
            }
        return user_obj._perm_cache
