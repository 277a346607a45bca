"""A bot definition written as Rasa 3.x projects: one per language (Rasa projects have one language).

`language` given: one project at the archive's root. Otherwise one folder per language (`en/`, `es/`), each a
complete project that `rasa train` accepts, and `charla.yml` at the root with the bot's name and languages (and
action timeout). An intent's action is a custom action `action_<action>` its rule runs; the bot's action failure
responses are the response `utter_action_failed`.
"""

from typing import Any

from .common import Definition, Files
from .rasa_map import ACTION_PREFIX, CONTEXTS_METADATA, DUCKLING, FAILURE_RESPONSE
from .rasa_read import SIDECAR
from .yaml_lines import Block, yaml_write

VERSION = "3.1"
_TO_DUCKLING = {charla: rasa for rasa, charla in DUCKLING.items()}


def rasa_from_definition(definition: Definition, *, language: str | None = None) -> Files:
    languages = [language] if language else definition["languages"]
    sidecar = {"name": definition["name"], "languages": definition["languages"]}
    if "timeout" in definition.get("actions", {}):
        sidecar["actions"] = {"timeout": definition["actions"]["timeout"]}
    files: Files = {SIDECAR: yaml_write(sidecar)}
    for lang in languages:
        prefix = "" if language else f"{lang}/"
        files |= {prefix + name: text for name, text in _project(definition, lang).items()}
    return files


def _project(definition: Definition, lang: str) -> Files:
    config = {
        "recipe": "default.v1", "assistant_id": definition["slug"], "language": lang,
        "pipeline": [
            {"name": "WhitespaceTokenizer"}, {"name": "RegexFeaturizer"}, {"name": "CountVectorsFeaturizer"},
            {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
            {"name": "DIETClassifier", "epochs": 100}, {"name": "EntitySynonymMapper"},
            {"name": "FallbackClassifier", "threshold": definition.get("confidence_threshold", 0.5)},
        ],
        "policies": [{"name": "RulePolicy"}],
    }  # fmt: skip
    return {
        "config.yml": yaml_write(config),
        "domain.yml": yaml_write(_domain(definition, lang)),
        "data/nlu.yml": yaml_write({"version": VERSION, "nlu": _nlu(definition, lang)}),
        "data/rules.yml": yaml_write({"version": VERSION, "rules": _rules(definition)}),
    }


def _nlu(definition: Definition, lang: str) -> list[dict]:
    nlu = []
    for intent in definition["intents"]:
        item: dict[str, Any] = {"intent": intent["slug"]}
        metadata = {"description": intent["description"]} if intent.get("description") else {}
        if intent.get("contexts"):
            metadata[CONTEXTS_METADATA] = intent["contexts"]
        if metadata:
            item["metadata"] = metadata
        nlu.append(item | {"examples": _block(intent.get("examples", {}).get(lang, []))})
    for entity in definition.get("entities", []):
        if entity["kind"] == "regex":
            nlu.append({"regex": entity["name"], "examples": _block([entity["pattern"]])})
            continue
        values = [v for v in entity["values"] if v.get("language", "") in ("", lang)]
        nlu.append({"lookup": entity["name"], "examples": _block([v["value"] for v in values])})
        nlu += [{"synonym": v["value"], "examples": _block(v["synonyms"])} for v in values if v["synonyms"]]
    return nlu


def _domain(definition: Definition, lang: str) -> dict:
    responses: dict[str, list[dict]] = {}
    slots: dict[str, dict] = {}
    forms: dict[str, dict] = {}
    for intent in definition["intents"]:
        name = intent["slug"]
        buttons = intent.get("buttons", {}).get(lang)
        variations = [
            {"text": t, **({"buttons": buttons} if buttons else {})} for t in intent.get("responses", {}).get(lang, [])
        ]
        for item in intent.get("context_responses", []):
            condition = [{"type": "slot", "name": item["context"], "value": True}]
            variations += [{"text": t, "condition": condition} for t in item["responses"].get(lang, [])]
            slots[item["context"]] = {"type": "bool", "influence_conversation": False, "mappings": [{"type": "custom"}]}
        if variations:
            responses[f"utter_{name}"] = variations
        if intent.get("slots"):
            forms[f"{name}_form"] = {"required_slots": [slot["name"] for slot in intent["slots"]]}
        for slot in intent.get("slots", []):
            entity = _TO_DUCKLING.get(slot["entity"], slot["entity"])
            slots[slot["name"]] = {
                "type": "float" if slot["entity"] == "sys.number" else "text",
                "mappings": [{"type": "from_entity", "entity": entity}],
            }
            if prompts := slot.get("prompts", {}).get(lang):
                responses[f"utter_ask_{name}_form_{slot['name']}"] = [{"text": t} for t in prompts]
    if fallback := definition.get("fallback", {}).get(lang):
        responses["utter_default"] = [{"text": t} for t in fallback]
    if failure := definition.get("actions", {}).get("failure", {}).get(lang):
        responses[FAILURE_RESPONSE] = [{"text": t} for t in failure]
    entities = [e["name"] for e in definition.get("entities", [])]
    entities += sorted({m["entity"] for s in slots.values() for m in s["mappings"] if "entity" in m} - set(entities))
    domain = {
        "version": VERSION, "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True},
        "intents": [intent["slug"] for intent in definition["intents"]], "entities": entities, "slots": slots,
        "responses": responses, "forms": forms,
        "actions": list(dict.fromkeys(ACTION_PREFIX + i["action"] for i in definition["intents"] if i.get("action"))),
    }  # fmt: skip
    return {key: value for key, value in domain.items() if value}


def _rules(definition: Definition) -> list[dict]:
    """Rules that make the exported project answer as Charla does: the intent's response, or its form first; an
    intent with an action runs its custom action there instead (which answers, in Rasa)."""
    rules = []
    for intent in definition["intents"]:
        name = intent["slug"]
        answer = ACTION_PREFIX + intent["action"] if intent.get("action") else f"utter_{name}"
        if intent.get("slots"):
            form = f"{name}_form"
            rules.append({"rule": f"start {form}", "steps": [
                {"intent": name}, {"action": form}, {"active_loop": form}]})  # fmt: skip
            rules.append({"rule": f"submit {form}", "condition": [{"active_loop": form}], "steps": [
                {"action": form}, {"active_loop": None}, {"slot_was_set": [{"requested_slot": None}]},
                {"action": answer}]})  # fmt: skip
        elif intent.get("action") or any(intent.get("responses", {}).values()):
            rules.append({"rule": f"answer {name}", "steps": [{"intent": name}, {"action": answer}]})
    return rules


def _block(texts: list[str]) -> Block:
    return Block("".join(f"- {text}\n" for text in texts))
