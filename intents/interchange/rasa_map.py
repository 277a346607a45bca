"""A Rasa project's pieces (read by rasa_read) mapped to Charla: responses, forms and custom actions to intents,
slots to entities, synonyms, regexes and lookups to the bot's entities."""

from collections.abc import Callable
from typing import Any

from .common import Definition, check_action, check_slot_entities, check_texts

# Duckling's dimensions, as Rasa names them, for Charla's built-in entities.
DUCKLING = {"number": "sys.number", "time": "sys.datetime", "email": "sys.email", "phone-number": "sys.phone"}
CONTEXTS_METADATA = "charla_contexts"  # nlu intent metadata: the contexts an intent needs and sets
ACTION_PREFIX = "action_"  # Rasa's custom action action_<name> is Charla's action <name>
FAILURE_RESPONSE = "utter_action_failed"  # the bot's action failure responses, in the project's language


def project_definition(project: Any) -> Definition:
    """`project` is a rasa_read._ProjectReader that has read every file of one project."""
    lang, notes = project.language, project.notes
    owners = _response_owners(project)
    forms = _form_owners(project)
    entities = _entities(project)
    actions = _action_owners(project)
    intents = []
    for name, examples in project.examples.items():
        metadata = project.intent_metadata.get(name, {})
        intent: dict[str, Any] = {"slug": name, "examples": {lang: _unique(examples)}}
        if "description" in metadata:
            intent["description"] = str(metadata["description"])
        if CONTEXTS_METADATA in metadata:
            intent["contexts"] = metadata[CONTEXTS_METADATA]
        if (response := owners.get(name)) is not None:
            intent |= _responses(project, response, lang)
        elif project.has_domain:
            intent |= {"responses": {}, "buttons": {}, "context_responses": []}
        if (form := forms.get(name)) is not None:
            intent["slots"] = _slots(project, form, entities, lang)
        elif project.has_domain:
            intent["slots"] = []
        if (action := actions.get(name)) is not None:
            intent["action"] = action
        elif project.steps:
            intent["action"] = ""
        intents.append(intent)
    mapped = set(owners.values()) | {"utter_default", FAILURE_RESPONSE}
    for response in project.responses:
        if response not in mapped and not response.startswith("utter_ask_"):
            notes.append(f"{project.responses[response][0]}: response {response} answers no intent; skipped.")
    definition: Definition = {"languages": [lang], "intents": intents, "entities": list(entities.values())}
    if "utter_default" in project.responses:
        definition["fallback"] = {lang: _texts(project, "utter_default")}
    if FAILURE_RESPONSE in project.responses:
        failure = check_texts(_texts(project, FAILURE_RESPONSE), project.responses[FAILURE_RESPONSE][0])
        definition["actions"] = {"failure": {lang: failure}}
    if project.threshold is not None:
        definition["confidence_threshold"] = project.threshold
    check_slot_entities(definition, "domain.yml")
    return definition


def _response_owners(project: Any) -> dict[str, str]:
    """intent -> response: `utter_<intent>`, else the first utter_ action after the intent in rules or stories
    (after its form, for an intent that opens one)."""
    named = {name: f"utter_{name}" for name in project.examples if f"utter_{name}" in project.responses}
    return _first_actions(project, lambda action: action.startswith("utter_") and action in project.responses) | named


def _action_owners(project: Any) -> dict[str, str]:
    """intent -> Charla action: the first custom action (declared in the domain's `actions:`) a rule or story runs
    after the intent (after its form, for an intent that opens one), `action_` taken off its name."""
    custom = {name: file for name, file in project.actions.items() if not name.startswith(("utter_", "validate_"))}
    return {
        intent: check_action(action.removeprefix(ACTION_PREFIX), custom[action])
        for intent, action in _first_actions(project, custom.__contains__).items()
    }


def _first_actions(project: Any, wanted: Callable[[str], bool]) -> dict[str, str]:
    """intent -> the first action `wanted` accepts that a rule or story runs after the intent, or after the form
    the intent opens (the form's steps belong to its intent)."""
    form_intent = {form: intent for intent, form in _form_owners(project).items()}
    first: dict[str, str] = {}
    for steps in project.steps:
        owner = None
        for step in (s for s in steps if isinstance(s, dict)):
            if "intent" in step:
                owner = step["intent"]
            action = step.get("action", "")
            owner = form_intent.get(action, owner)
            if owner in project.examples and wanted(action):
                first.setdefault(owner, action)
    return first


def _form_owners(project: Any) -> dict[str, str]:
    """intent -> form: `<intent>_form`, else the form a rule or story runs right after the intent."""
    owners = {name: f"{name}_form" for name in project.examples if f"{name}_form" in project.forms}
    for steps in project.steps:
        for step, following in zip(steps, steps[1:]):
            if "intent" in step and following.get("action") in project.forms:
                owners.setdefault(step["intent"], following["action"])
    return owners


def _responses(project: Any, response: str, lang: str) -> dict[str, Any]:
    plain_texts, buttons, by_context = [], [], {}
    for variation in project.responses[response][1]:
        if not isinstance(variation, dict) or not variation.get("text"):
            project.notes.append(f"{project.responses[response][0]}: a variation of {response} without text; skipped.")
            continue
        context = _context_condition(variation.get("condition"))
        if context:
            by_context.setdefault(context, []).append(variation["text"])
            continue
        plain_texts.append(variation["text"])
        buttons = buttons or [{"title": b["title"], "payload": b["payload"]} for b in variation.get("buttons") or []]
    return {
        "responses": {lang: plain_texts},
        "buttons": {lang: buttons} if buttons else {},
        "context_responses": [{"context": c, "responses": {lang: t}} for c, t in by_context.items()],
    }


def _context_condition(condition: Any) -> str | None:
    """A variation shown while slot X is true is Charla's response for while context X is active."""
    for item in condition or []:
        if isinstance(item, dict) and item.get("type") == "slot" and item.get("value") is True:
            return str(item["name"])
    return None


def _slots(project: Any, form: str, entities: dict[str, dict], lang: str) -> list[dict]:
    file, required = project.forms[form]
    slots = []
    for name in required:
        mapped = [m for m in project.slots.get(name, {}).get("mappings", []) if m.get("type") == "from_entity"]
        rasa_entity = mapped[0]["entity"] if mapped else None
        entity = DUCKLING.get(rasa_entity) or (rasa_entity if rasa_entity in entities else None)
        if entity is None:
            project.notes.append(f"{file}: slot {name} of {form} is not filled from a regex, lookup or Duckling "
                                 "entity Charla knows; skipped.")  # fmt: skip
            continue
        prompt = next((r for r in (f"utter_ask_{form}_{name}", f"utter_ask_{name}") if r in project.responses), None)
        slots.append({"name": name, "entity": entity, "prompts": {lang: _texts(project, prompt)} if prompt else {}})
    return slots


def _entities(project: Any) -> dict[str, dict]:
    entities: dict[str, dict] = {}
    for name, patterns in project.regexes.items():
        pattern = patterns[0] if len(patterns) == 1 else "|".join(f"(?:{p})" for p in patterns)
        entities[name] = {"name": name, "kind": "regex", "pattern": pattern, "values": []}
    for name, values in project.lookups.items():
        entities[name] = {"name": name, "kind": "lookup", "pattern": "", "values": []}
        for value in _unique(values):
            entities[name]["values"].append({"value": value, "synonyms": [], "language": project.language})
    for value, synonyms in project.synonyms.items():
        owner = next((e for e in entities.values() if any(v["value"] == value for v in e["values"])), None)
        if owner is None and value in project.annotated:
            name = project.annotated[value]
            owner = entities.setdefault(name, {"name": name, "kind": "lookup", "pattern": "", "values": []})
            owner["values"].append({"value": value, "synonyms": [], "language": project.language})
        if owner is None:
            project.notes.append(f"synonym {value!r} belongs to no lookup or annotated entity; skipped.")
            continue
        found = next(v for v in owner["values"] if v["value"] == value)
        found["synonyms"] = _unique(found["synonyms"] + synonyms)
    return entities


def _texts(project: Any, response: str) -> list[str]:
    return [v["text"] for v in project.responses[response][1] if isinstance(v, dict) and v.get("text")]


def _unique(texts: list[str]) -> list[str]:
    return list(dict.fromkeys(texts))
