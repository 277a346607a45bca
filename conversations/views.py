from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import get_language_from_request

from intents.models import Bot


def chat_page(request: HttpRequest, bot: str = "demo") -> HttpResponse:
    bot_obj = get_object_or_404(Bot, slug=bot)
    language = get_language_from_request(request)
    if language not in bot_obj.languages:
        language = bot_obj.default_language
    context = {
        "bot_slug": bot_obj.slug,
        "bot_name": bot_obj.name,
        "ws_path": f"/ws/chat/{bot_obj.slug}/",
        "language": language,
    }
    return render(request, "conversations/chat.html", context)
