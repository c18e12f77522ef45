from django.urls import path

from catalog import views

urlpatterns = [
    path("c/<uuid:image_uuid>/<str:filename>", views.catalog_file, name="catalog_file"),
    path("t/<uuid:team_uuid>/catalog/", views.catalog, name="catalog"),
    path("t/<uuid:team_uuid>/catalog/poll/", views.catalog_poll, name="catalog_poll"),
    path(
        "t/<uuid:team_uuid>/catalog/products/<uuid:product_id>/",
        views.product_detail,
        name="catalog_product",
    ),
    path(
        "t/<uuid:team_uuid>/catalog/products/<uuid:product_id>/delete/",
        views.product_delete,
        name="catalog_product_delete",
    ),
    path(
        "t/<uuid:team_uuid>/catalog/products/<uuid:product_id>/retry/",
        views.product_retry,
        name="catalog_product_retry",
    ),
    path("t/<uuid:team_uuid>/catalog/dna/", views.dna_list, name="catalog_dna"),
    path(
        "t/<uuid:team_uuid>/catalog/dna/<uuid:dna_id>/",
        views.dna_detail,
        name="catalog_dna_detail",
    ),
    path(
        "t/<uuid:team_uuid>/catalog/dna/<uuid:dna_id>/delete/",
        views.dna_delete,
        name="catalog_dna_delete",
    ),
    path("t/<uuid:team_uuid>/catalog/moodboards/", views.moodboard_list, name="catalog_moodboards"),
    path(
        "t/<uuid:team_uuid>/catalog/moodboards/<uuid:moodboard_id>/",
        views.moodboard_detail,
        name="catalog_moodboard_detail",
    ),
    path(
        "t/<uuid:team_uuid>/catalog/moodboards/<uuid:moodboard_id>/delete/",
        views.moodboard_delete,
        name="catalog_moodboard_delete",
    ),
]
