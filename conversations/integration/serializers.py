"""Request and response bodies of the integration API, as DRF serializers (also the OpenAPI schema)."""

from rest_framework import serializers

# Texts are checked by the services (conversations.services.rules.text_validate): one set of rules and error
# codes (empty_text, text_too_long, invalid_text) for the chat socket and every endpoint.
_TEXT = {"trim_whitespace": False, "allow_blank": True}


class RasaMessageSerializer(serializers.Serializer):
    sender = serializers.CharField(max_length=128, help_text="The conversation's id on your side (Rasa's sender).")
    message = serializers.CharField(**_TEXT, help_text="The user's text, or a button's payload (`/book_table`).")
    message_id = serializers.CharField(
        required=False, max_length=100,
        help_text="Optional: a retried post with the same message_id is stored and answered once.",
    )


class RasaButtonSerializer(serializers.Serializer):
    title = serializers.CharField()
    payload = serializers.CharField()


class RasaReplySerializer(serializers.Serializer):
    recipient_id = serializers.CharField()
    text = serializers.CharField()
    buttons = RasaButtonSerializer(many=True, required=False)


class ParseRequestSerializer(serializers.Serializer):
    text = serializers.CharField(**_TEXT)
    lang = serializers.CharField(required=False, help_text="es or en; detected when absent.")


class RasaParseRequestSerializer(serializers.Serializer):
    text = serializers.CharField(**_TEXT)
    message_id = serializers.CharField(required=False, max_length=100)


class IntentSerializer(serializers.Serializer):
    name = serializers.CharField()
    confidence = serializers.FloatField()


class EntitySerializer(serializers.Serializer):
    entity = serializers.CharField(help_text="sys.number, sys.datetime, sys.email, sys.phone, or a bot entity.")
    value = serializers.JSONField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    extractor = serializers.CharField()


class RasaParseSerializer(serializers.Serializer):
    text = serializers.CharField()
    intent = IntentSerializer()
    intent_ranking = IntentSerializer(many=True)
    entities = EntitySerializer(many=True)


class ParseSerializer(RasaParseSerializer):
    language = serializers.CharField()
    model_version = serializers.IntegerField(help_text="The production model version that classified the text.")


class TurnRequestSerializer(serializers.Serializer):
    text = serializers.CharField(**_TEXT)
    state = serializers.CharField(allow_null=True, required=False, help_text="The previous turn's state; null first.")
    lang = serializers.CharField(required=False, help_text="First turn only: the language to start in.")


class TurnReplySerializer(serializers.Serializer):
    text = serializers.CharField()
    buttons = RasaButtonSerializer(many=True)
    intent = serializers.CharField()
    language = serializers.CharField()


class TurnSerializer(serializers.Serializer):
    replies = TurnReplySerializer(many=True)
    state = serializers.CharField(help_text="Opaque, signed and time-limited: send it with the next turn.")


class SenderMessagesSerializer(serializers.Serializer):
    conversation = serializers.UUIDField(allow_null=True)
    messages = serializers.ListField(child=serializers.DictField(), help_text="Message frames (docs/protocol.md).")


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(required=False, help_text="Per-field errors of an invalid request.")
