from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from conversations.api import VisitorDataViewSet
from conversations.views import chat_page, console_page, embed_page
from intents.api.urls import urlpatterns as intents_api

api = DefaultRouter()
api.register("visitors", VisitorDataViewSet, basename="visitor-data")

urlpatterns = [
    path("", chat_page, name="chat"),
    path("chat/<slug:bot>/", chat_page, name="chat-bot"),
    path("embed/<slug:bot>/", embed_page, name="embed"),
    path("admin/", admin.site.urls),
    path("console/", console_page, name="console"),
    path("api/", include(api.urls)),
    path("", include("conversations.integration.urls")),
    path("api/", include(intents_api)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("demo/actions/", include("intents.demo.urls")),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

handler404 = "chatbot.api_errors.handler404"
handler500 = "chatbot.api_errors.handler500"
