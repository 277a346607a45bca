from django.contrib import admin
from django.urls import path

from conversations.views import chat_page

urlpatterns = [
    path("", chat_page, name="chat"),
    path("chat/<slug:bot>/", chat_page, name="chat-bot"),
    path("admin/", admin.site.urls),
]
