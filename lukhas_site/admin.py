from django.contrib import admin

from lukhas_site.models import DemoDataLoad


@admin.register(DemoDataLoad)
class DemoDataLoadAdmin(admin.ModelAdmin):
    list_display = ("name", "summary", "created_at", "updated_at")
    readonly_fields = ("name", "summary", "created_at", "updated_at")
