from django.urls import path

from .nlu import ParseView, RasaParseView
from .turns import TurnView
from .webhook import RestWebhookView, SenderMessagesView

urlpatterns = [
    path("webhooks/rest/webhook", RestWebhookView.as_view(), name="rest-webhook"),
    path("model/parse", RasaParseView.as_view(), name="rasa-parse"),
    path("api/bots/<slug:slug>/parse", ParseView.as_view(), name="bot-parse"),
    path("api/bots/<slug:slug>/turn", TurnView.as_view(), name="bot-turn"),
    path("api/bots/<slug:slug>/messages", SenderMessagesView.as_view(), name="bot-sender-messages"),
]
