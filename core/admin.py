"""The admin site of the setup tables, and the companies every app shares. Users and
groups (the Staff, Approver and Finance roles) are Django's own admin pages."""

from django.contrib import admin

from core.models import Company

admin.site.site_header = "PSA accounting: setup tables"
admin.site.site_title = "PSA setup"
admin.site.index_title = "Setup tables"
admin.site.site_url = "/"


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["identifier", "name", "is_client", "is_vendor"]
    list_filter = ["is_client", "is_vendor"]
    search_fields = ["identifier", "name"]
