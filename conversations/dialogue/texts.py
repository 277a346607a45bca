"""The bot's own words where no response is configured, by language."""

DEFAULT_FALLBACK = {
    "en": "Sorry, I didn't understand that. Could you say it another way?",
    "es": "Perdona, no lo he entendido. ¿Puedes decirlo de otra forma?",
}
HANDOFF_OFFER = {
    "en": "I'm sorry, I'm not getting it. Would you like to talk to a person?",
    "es": "Lo siento, no consigo entenderte. ¿Quieres hablar con una persona?",
}
HANDOFF_BUTTON = {"en": "Talk to a person", "es": "Hablar con una persona"}
HANDOFF_REQUESTED = {
    "en": "I'm asking a person from our team to join. Please stay here.",
    "es": "Estoy avisando a una persona del equipo. Quédate por aquí, por favor.",
}
HANDOFF_UNAVAILABLE = {
    "en": "Sorry, a person can't join this chat. I'm happy to keep helping, though.",
    "es": "Lo siento, aquí no puede unirse una persona. Pero sigo ayudándote encantado.",
}
NOT_VALID = {
    "en": "Sorry, that doesn't look like what I need.",
    "es": "Perdona, eso no parece lo que necesito.",
}
ACTION_FAILED = {
    "en": "Sorry, I couldn't complete that right now. Please try again in a few minutes.",
    "es": "Lo siento, ahora mismo no he podido completarlo. Inténtalo de nuevo en unos minutos.",
}
ASK_SLOT = {"en": "What is your {slot}?", "es": "¿Cuál es tu {slot}?"}


def localized(texts: dict[str, str], language: str) -> str:
    return texts.get(language, texts["en"])
