from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import get_language_from_request
from django.views.decorators.clickjacking import xframe_options_exempt

from intents.models import Bot

from .framing import CSP, chat_page_policy, frame_ancestors

# Widget options an embedding site may pass in the iframe's query string; the script validates each value.
EMBED_OPTIONS = ("color", "title", "greeting", "avatar")


def _chat(request: HttpRequest, bot: Bot, *, mode: str, options: dict[str, str]) -> HttpResponse:
    language = request.GET.get("lang") or get_language_from_request(request)
    if language not in bot.languages:
        language = bot.default_language
    context = {"bot_slug": bot.slug, "bot_name": bot.name, "language": language, "mode": mode, "options": options}
    return render(request, "conversations/chat.html", context)


def chat_page(request: HttpRequest, bot: str = "demo") -> HttpResponse:
    response = _chat(request, get_object_or_404(Bot, slug=bot), mode="page", options={})
    response.headers[CSP] = chat_page_policy()
    return response


@xframe_options_exempt
def embed_page(request: HttpRequest, bot: str) -> HttpResponse:
    """The chat as a page for an iframe; only the bot's configured origins may frame it (CSP frame-ancestors)."""
    bot_obj = get_object_or_404(Bot, slug=bot)
    options = {name: request.GET[name][:200] for name in EMBED_OPTIONS if request.GET.get(name)}
    response = _chat(request, bot_obj, mode="embed", options=options)
    response.headers[CSP] = chat_page_policy(frame_ancestors=frame_ancestors(bot_origins=bot_obj.allowed_origins))
    return response


@staff_member_required
def console_page(request: HttpRequest) -> HttpResponse:
    """The staff console: conversations waiting for a person, live over /ws/console/."""
    response = render(request, "conversations/console.html", {"ws_path": "/ws/console/"})
    response.headers[CSP] = chat_page_policy()
    return response
