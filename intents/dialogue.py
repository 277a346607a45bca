"""Writes for a bot's dialogue configuration (entities, slots, contexts, conditioned responses, buttons).

The definition format extends intents/demo/demo_bot.json; every key is optional, and loading twice changes nothing.
"""

from typing import Any

from .models import Bot, Entity, EntityValue, Intent, IntentContext, Response, Slot


def bot_dialogue_load(*, bot: Bot, definition: dict[str, Any]) -> None:
    """Make the bot's entities and its intents' dialogue settings match the definition. Runs in the caller's
    transaction."""
    _entities_sync(bot=bot, items=definition.get("entities", []))
    for item in definition["intents"]:
        intent = Intent.objects.get(bot=bot, name=item["slug"])
        _slots_sync(intent=intent, items=item.get("slots", []))
        _contexts_sync(intent=intent, contexts=item.get("contexts", {}))
        _context_responses_sync(intent=intent, items=item.get("context_responses", []))
        buttons = item.get("buttons", {})
        for language, language_buttons in buttons.items():
            Response.objects.filter(intent=intent, language=language, context="").update(buttons=language_buttons)
        # A language the definition gives no buttons has none (quick replies removed from a file go away).
        Response.objects.filter(intent=intent, context="").exclude(language__in=buttons).exclude(buttons=[]).update(
            buttons=[]
        )


def _entities_sync(*, bot: Bot, items: list[dict[str, Any]]) -> None:
    Entity.objects.filter(bot=bot).exclude(name__in=[item["name"] for item in items]).delete()
    for item in items:
        entity, _ = Entity.objects.update_or_create(
            bot=bot, name=item["name"], defaults={"kind": item["kind"], "pattern": item.get("pattern", "")}
        )
        wanted = {
            (value["value"], value.get("language", "")): value.get("synonyms", []) for value in item.get("values", [])
        }
        EntityValue.objects.filter(entity=entity).exclude(
            pk__in=[
                row.pk for row in EntityValue.objects.filter(entity=entity) if (row.value, row.language) in wanted
            ]
        ).delete()
        for (value, language), synonyms in wanted.items():
            EntityValue.objects.update_or_create(
                entity=entity, value=value, language=language, defaults={"synonyms": synonyms}
            )


def _slots_sync(*, intent: Intent, items: list[dict[str, Any]]) -> None:
    Slot.objects.filter(intent=intent).exclude(name__in=[item["name"] for item in items]).delete()
    for order, item in enumerate(items):
        Slot.objects.update_or_create(
            intent=intent,
            name=item["name"],
            defaults={
                "entity": item["entity"],
                "required": item.get("required", True),
                "order": order,
                "prompts": item.get("prompts", {}),
            },
        )


def _contexts_sync(*, intent: Intent, contexts: dict[str, list[dict[str, Any]]]) -> None:
    keep = []
    for direction in IntentContext.Direction.values:
        for item in contexts.get(direction, []):
            context, _ = IntentContext.objects.update_or_create(
                intent=intent,
                name=item["name"],
                direction=direction,
                defaults={"lifespan_turns": item.get("turns", 5), "lifespan_minutes": item.get("minutes", 20)},
            )
            keep.append(context.pk)
    IntentContext.objects.filter(intent=intent).exclude(pk__in=keep).delete()


def _context_responses_sync(*, intent: Intent, items: list[dict[str, Any]]) -> None:
    wanted = {
        (item["context"], language, text)
        for item in items
        for language, texts in item["responses"].items()
        for text in texts
    }
    existing = {(row.context, row.language, row.text): row.pk for row in intent.responses.exclude(context="")}
    Response.objects.filter(pk__in=[pk for key, pk in existing.items() if key not in wanted]).delete()
    Response.objects.bulk_create(
        [
            Response(intent=intent, context=context, language=language, text=text)
            for context, language, text in sorted(wanted - existing.keys())
        ]
    )
