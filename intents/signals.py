"""A bot's dialogue revision changes with every saved or deleted intent, response, slot, context or entity.

Workers cache the dialogue settings per revision (intents.selectors.bot_dialogue). Bulk writes send no signals:
code that writes in bulk (bot_load_definition) calls dialogue_revision_bump itself.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Entity, EntityValue, Intent, IntentContext, Response, Slot
from .services.bots import dialogue_revision_bump


@receiver([post_save, post_delete], sender=Intent)
@receiver([post_save, post_delete], sender=Entity)
def _bot_part_changed(sender, instance, **kwargs) -> None:
    dialogue_revision_bump(bot_id=instance.bot_id)


@receiver([post_save, post_delete], sender=Response)
@receiver([post_save, post_delete], sender=Slot)
@receiver([post_save, post_delete], sender=IntentContext)
def _intent_part_changed(sender, instance, **kwargs) -> None:
    dialogue_revision_bump(bot_id=Intent.objects.filter(pk=instance.intent_id).values_list("bot_id", flat=True).first())


@receiver([post_save, post_delete], sender=EntityValue)
def _entity_value_changed(sender, instance, **kwargs) -> None:
    dialogue_revision_bump(bot_id=Entity.objects.filter(pk=instance.entity_id).values_list("bot_id", flat=True).first())
