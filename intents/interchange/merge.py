"""Lay an imported definition over a bot's current one.

An import is the truth for what it holds, in the languages it holds: a Rasa project in English replaces the
English examples, responses and prompts of the intents it names and leaves the Spanish ones, and every intent it
does not name, as they were. A CSV holds examples only, so responses, slots, contexts and actions stay.
"""

from copy import deepcopy
from typing import Any

from .common import Definition

_BY_LANGUAGE = ("examples", "responses", "buttons")
_WHOLE = ("description", "contexts", "action")


def definition_merge(current: Definition, imported: Definition) -> Definition:
    """The definition to load: `current` (the bot as it is) with `imported` laid over it."""
    merged = deepcopy(current)
    covered = imported["languages"]
    merged["languages"] = current["languages"] + [lang for lang in covered if lang not in current["languages"]]
    for key in ("name", "confidence_threshold"):
        if key in imported:
            merged[key] = imported[key]
    if "fallback" in imported:
        merged["fallback"] = _by_language(current.get("fallback", {}), imported["fallback"], covered)
    if "actions" in imported:
        merged["actions"] = _actions(current.get("actions", {}), imported["actions"], covered)
    if "entities" in imported:
        merged["entities"] = _entities(current.get("entities", []), imported["entities"], covered)
    intents = {intent["slug"]: intent for intent in merged["intents"]}
    for item in imported["intents"]:
        intents[item["slug"]] = _intent(intents.get(item["slug"], {"slug": item["slug"]}), item, covered)
    merged["intents"] = list(intents.values())
    for intent in merged["intents"]:
        intent.setdefault("examples", {})
        intent.setdefault("responses", {})
    return merged


def _intent(current: dict[str, Any], imported: dict[str, Any], covered: list[str]) -> dict[str, Any]:
    intent = dict(current)
    for key in _WHOLE:
        if key in imported:
            intent[key] = imported[key]
    for key in _BY_LANGUAGE:
        if key in imported:
            intent[key] = _by_language(current.get(key, {}), imported[key], covered)
    if "slots" in imported:
        old = {slot["name"]: slot for slot in current.get("slots", [])}
        intent["slots"] = [
            {
                **slot,
                "prompts": _by_language(old.get(slot["name"], {}).get("prompts", {}), slot.get("prompts", {}), covered),
            }
            for slot in imported["slots"]
        ]
    if "context_responses" in imported:
        old = {item["context"]: item["responses"] for item in current.get("context_responses", [])}
        new = {item["context"]: item["responses"] for item in imported["context_responses"]}
        intent["context_responses"] = [
            {"context": context, "responses": _by_language(old.get(context, {}), new.get(context, {}), covered)}
            for context in {**old, **new}
        ]
        intent["context_responses"] = [item for item in intent["context_responses"] if item["responses"]]
    return intent


def _by_language(current: dict[str, Any], imported: dict[str, Any], covered: list[str]) -> dict[str, Any]:
    """Covered languages come from the import (absent there: none), the others stay."""
    merged = {lang: value for lang, value in current.items() if lang not in covered}
    merged.update({lang: value for lang, value in imported.items() if value})
    return merged


def _actions(current: dict[str, Any], imported: dict[str, Any], covered: list[str]) -> dict[str, Any]:
    """The import's timeout, and its failure responses for the languages it covers; the rest stays."""
    actions = {**current, **{key: value for key, value in imported.items() if key != "failure"}}
    if "failure" in imported:
        actions["failure"] = _by_language(current.get("failure", {}), imported["failure"], covered)
    return actions


def _entities(current: list[dict], imported: list[dict], covered: list[str]) -> list[dict]:
    """Imported entities replace those of the same name; values of languages the import does not cover stay."""
    entities = {entity["name"]: entity for entity in deepcopy(current)}
    for entity in imported:
        kept = [
            v for v in entities.get(entity["name"], {}).get("values", []) if v.get("language") not in ("", *covered)
        ]
        entities[entity["name"]] = {**entity, "values": kept + entity.get("values", [])}
    return list(entities.values())
