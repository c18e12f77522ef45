from django.urls import path

from generations import views
from generations.ads import views as ad_views
from generations.agent import views as agent_views
from generations.chat import views as chat_views
from generations.creative_director import views as cd_views

urlpatterns = [
    path("m/<uuid:asset_uuid>/<str:variant>/<str:filename>", views.media_file, name="media_file"),
    path("t/<uuid:team_uuid>/studio/", views.studio, name="studio"),
    path("t/<uuid:team_uuid>/studio/cost/", views.studio_quote, name="studio_quote"),
    path("t/<uuid:team_uuid>/studio/poll/", views.studio_poll, name="studio_poll"),
    path("t/<uuid:team_uuid>/gallery/", views.gallery, name="gallery"),
    path("t/<uuid:team_uuid>/ads/", ad_views.ads, name="ads"),
    path("t/<uuid:team_uuid>/agent/", agent_views.agent, name="agent"),
    path("t/<uuid:team_uuid>/agent/runs/<uuid:run_uuid>/", agent_views.agent, name="agent_run"),
    path(
        "t/<uuid:team_uuid>/agent/runs/<uuid:run_uuid>/live/",
        agent_views.agent_run_live,
        name="agent_run_live",
    ),
    path("t/<uuid:team_uuid>/ads/cost/", ad_views.ads_cost, name="ads_cost"),
    path("t/<uuid:team_uuid>/ads/<uuid:generation_uuid>/", ad_views.ad_card, name="ads_card"),
    path(
        "t/<uuid:team_uuid>/ads/<uuid:generation_uuid>/<int:index>/copy/",
        ad_views.ad_copy,
        name="ads_copy",
    ),
    path(
        "t/<uuid:team_uuid>/creative-director/",
        cd_views.creative_director,
        name="creative_director",
    ),
    path(
        "t/<uuid:team_uuid>/creative-director/cost/",
        cd_views.creative_director_cost,
        name="creative_director_cost",
    ),
    path(
        "t/<uuid:team_uuid>/creative-director/<uuid:generation_uuid>/",
        cd_views.storyboard,
        name="creative_director_storyboard",
    ),
    path(
        "t/<uuid:team_uuid>/creative-director/<uuid:generation_uuid>/scenes/<int:number>/remake/",
        cd_views.remake_scene,
        name="creative_director_remake",
    ),
    path(
        "t/<uuid:team_uuid>/creative-director/<uuid:generation_uuid>/scenes.zip",
        cd_views.storyboard_zip,
        name="creative_director_zip",
    ),
    path("t/<uuid:team_uuid>/chat/", chat_views.chat, name="chat"),
    path("t/<uuid:team_uuid>/chat/send/", chat_views.chat_send, name="chat_send"),
    path(
        "t/<uuid:team_uuid>/chat/<uuid:session_id>/",
        chat_views.chat,
        name="chat_conversation",
    ),
    path(
        "t/<uuid:team_uuid>/chat/<uuid:session_id>/rename/",
        chat_views.chat_rename,
        name="chat_rename",
    ),
    path(
        "t/<uuid:team_uuid>/chat/<uuid:session_id>/delete/",
        chat_views.chat_delete,
        name="chat_delete",
    ),
    path(
        "t/<uuid:team_uuid>/chat/messages/<uuid:message_uuid>/",
        chat_views.chat_message,
        name="chat_message",
    ),
    path(
        "t/<uuid:team_uuid>/chat/messages/<uuid:message_uuid>/retry/",
        chat_views.chat_retry,
        name="chat_retry",
    ),
    path(
        "t/<uuid:team_uuid>/gallery/<uuid:generation_uuid>/",
        views.generation_detail,
        name="gallery_detail",
    ),
    path("t/<uuid:team_uuid>/gallery/download.zip", views.gallery_zip, name="gallery_zip"),
    path(
        "t/<uuid:team_uuid>/gallery/<uuid:generation_uuid>/download.zip",
        views.generation_zip,
        name="gallery_generation_zip",
    ),
    path(
        "t/<uuid:team_uuid>/gallery/<uuid:generation_uuid>/cancel/",
        views.generation_cancel,
        name="gallery_cancel",
    ),
    path(
        "t/<uuid:team_uuid>/gallery/<uuid:generation_uuid>/delete/",
        views.generation_delete,
        name="gallery_delete",
    ),
    path(
        "t/<uuid:team_uuid>/gallery/<uuid:generation_uuid>/rerun/",
        views.generation_rerun,
        name="gallery_rerun",
    ),
]
