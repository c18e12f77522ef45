from django.contrib import admin

from catalog.models import CatalogImage, Moodboard, Product, StylePreset, VisualDNA


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "category", "source", "analysis_status", "created_at")
    list_filter = ("analysis_status", "source")
    search_fields = ("name", "category", "team__name")
    raw_id_fields = ("team", "created_by", "original", "cutout")
    readonly_fields = ("id", "created_at", "updated_at")


@admin.register(VisualDNA)
class VisualDNAAdmin(admin.ModelAdmin):
    list_display = ("name", "dna_type", "team", "created_at")
    list_filter = ("dna_type",)
    search_fields = ("name", "team__name")
    raw_id_fields = ("team", "created_by", "images")


@admin.register(Moodboard)
class MoodboardAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "slug", "created_at")
    search_fields = ("name", "team__name")
    raw_id_fields = ("team", "created_by", "images")


@admin.register(StylePreset)
class StylePresetAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "sort_order")
    list_editable = ("sort_order",)


@admin.register(CatalogImage)
class CatalogImageAdmin(admin.ModelAdmin):
    list_display = (
        "file", "team", "mime_type", "size_bytes", "width", "height", "safety_score", "flagged",
        "created_at",
    )  # fmt: skip
    list_filter = ("flagged",)
    search_fields = ("file", "team__name")
    raw_id_fields = ("team",)
