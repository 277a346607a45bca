"""A bot definition written as a Dialogflow ES agent zip, the layout "Export and restore" uses.

Dialogflow has fields for examples, text responses by language, input and output contexts (lifespan in turns),
parameters with prompts, entities, the fallback intent, and an intent's `action` with `webhookUsed` (Charla's
action). What it has none for (quick-reply payloads, responses for an active context, an intent's description, a
context's lifespan in minutes) travels in one custom payload message per language,
`{"charla": {"language": {...}, "intent": {...}}}`, which Dialogflow keeps and passes on untouched; the fallback
intent's carry the bot's action failure responses and timeout, `{"charla": {"language": {"action_failure": [...]},
"agent": {"action_timeout": 5.0}}}`. The webhook URL is the deployment's: agent.json leaves it empty and off.
"""

import json
import uuid

from .common import Definition, Files
from .dialogflow_read import PAYLOAD_KEY, SYS_ENTITIES

_TO_DIALOGFLOW = {"sys.number": "@sys.number", "sys.datetime": "@sys.date-time", "sys.email": "@sys.email",
                  "sys.phone": "@sys.phone-number"}  # fmt: skip
FALLBACK_INTENT = "Default Fallback Intent"
assert set(_TO_DIALOGFLOW.values()) <= set(SYS_ENTITIES)


def dialogflow_from_definition(definition: Definition) -> Files:
    languages = definition["languages"]
    agent = {
        "description": "", "language": languages[0], "supportedLanguages": languages[1:],
        "displayName": definition["name"], "mlMinConfidence": definition.get("confidence_threshold", 0.5),
        "defaultTimezone": "UTC", "isPrivate": True, "enableOnePlatformApi": True, "onePlatformApiVersion": "v2",
        "webhook": {"url": "", "available": False, "useForDomains": False, "cloudFunctionsEnabled": False},
    }  # fmt: skip
    files = {"agent.json": _dump(agent), "package.json": _dump({"version": "1.0.0"})}
    for intent in definition["intents"]:
        files[f"intents/{intent['slug']}.json"] = _dump(_intent(intent, languages))
        for lang, texts in intent.get("examples", {}).items():
            files[f"intents/{intent['slug']}_usersays_{lang}.json"] = _dump([_phrase(text, lang) for text in texts])
    fallback = [_text(texts, lang) for lang, texts in definition.get("fallback", {}).items()]
    fallback += _action_settings(definition.get("actions", {}), languages)
    files[f"intents/{FALLBACK_INTENT}.json"] = _dump(_intent_shell(FALLBACK_INTENT, fallback, fallback=True))
    for entity in definition.get("entities", []):
        files |= _entity(entity, languages)
    return files


def _intent(intent: dict, languages: list[str]) -> dict:
    messages = [_text(texts, lang) for lang, texts in intent.get("responses", {}).items()]
    contexts = intent.get("contexts", {})
    for index, lang in enumerate(languages):
        part = {"buttons": intent.get("buttons", {}).get(lang), "context_responses": {
            item["context"]: item["responses"][lang] for item in intent.get("context_responses", [])
            if item["responses"].get(lang)}}  # fmt: skip
        payload = {"language": {k: v for k, v in part.items() if v}}
        if index == 0:
            payload["intent"] = {
                "description": intent.get("description", ""),
                "context_minutes": {c["name"]: c.get("minutes", 20) for c in contexts.get("sets", [])},
            }
        if payload["language"] or index == 0:
            messages.append({"type": "4", "lang": lang, "condition": "", "payload": {PAYLOAD_KEY: payload}})
    shell = _intent_shell(intent["slug"], messages)
    shell["webhookUsed"] = bool(intent.get("action"))
    shell["responses"][0]["action"] = intent.get("action", "")
    shell["contexts"] = [c["name"] for c in contexts.get("needs", [])]
    shell["responses"][0]["affectedContexts"] = [
        {"name": c["name"], "lifespan": c.get("turns", 5), "parameters": {}} for c in contexts.get("sets", [])
    ]
    shell["responses"][0]["parameters"] = [_parameter(slot) for slot in intent.get("slots", [])]
    return shell


def _action_settings(actions: dict, languages: list[str]) -> list[dict]:
    """The bot's action failure responses and timeout, as the fallback intent's Charla payloads."""
    messages = []
    for index, lang in enumerate(languages):
        failure = actions.get("failure", {}).get(lang)
        payload: dict = {"language": {"action_failure": failure}} if failure else {}
        if index == 0 and "timeout" in actions:
            payload["agent"] = {"action_timeout": actions["timeout"]}
        if payload:
            messages.append({"type": "4", "lang": lang, "condition": "", "payload": {PAYLOAD_KEY: payload}})
    return messages


def _intent_shell(name: str, messages: list[dict], fallback: bool = False) -> dict:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"charla:intent:{name}")), "name": name, "auto": True,
        "contexts": [], "responses": [{
            "resetContexts": False, "action": "input.unknown" if fallback else "", "affectedContexts": [],
            "parameters": [], "messages": messages, "speech": [],
        }],
        "priority": 500000, "webhookUsed": False, "webhookForSlotFilling": False, "fallbackIntent": fallback,
        "events": [], "conditionalResponses": [], "condition": "", "conditionalFollowupEvents": [],
    }  # fmt: skip


def _text(texts: list[str], lang: str) -> dict:
    return {"type": "0", "title": "", "textToSpeech": "", "lang": lang, "condition": "", "speech": texts}


def _phrase(text: str, lang: str) -> dict:
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"charla:phrase:{lang}:{text}")),
            "data": [{"text": text, "userDefined": False}], "isTemplate": False, "count": 0, "lang": lang,
            "updated": 0}  # fmt: skip


def _parameter(slot: dict) -> dict:
    entity = _TO_DIALOGFLOW.get(slot["entity"], f"@{slot['entity']}")
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"charla:parameter:{slot['name']}")), "name": slot["name"],
        "required": slot.get("required", True), "dataType": entity, "value": f"${slot['name']}", "defaultValue": "",
        "isList": False, "promptMessages": [], "noMatchPromptMessages": [], "noInputPromptMessages": [],
        "outputDialogContexts": [],
        "prompts": [{"lang": lang, "value": text} for lang, texts in slot.get("prompts", {}).items() for text in texts],
    }  # fmt: skip


def _entity(entity: dict, languages: list[str]) -> Files:
    name = entity["name"]
    regex = entity["kind"] == "regex"
    header = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"charla:entity:{name}")), "name": name,
              "isOverridable": True, "isEnum": False, "isRegexp": regex, "automatedExpansion": False,
              "allowFuzzyExtraction": False}  # fmt: skip
    files = {f"entities/{name}.json": _dump(header)}
    for lang in languages:
        if regex:
            entries = [{"value": entity["pattern"], "synonyms": [entity["pattern"]]}]
        else:
            entries = [{"value": v["value"], "synonyms": [v["value"], *v["synonyms"]]}
                       for v in entity["values"] if v.get("language", "") in ("", lang)]  # fmt: skip
        files[f"entities/{name}_entries_{lang}.json"] = _dump(entries)
    return files


def _dump(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
