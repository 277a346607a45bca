"""A Dialogflow ES agent (the zip "Export and restore" writes) read into a bot definition.

agent.json gives the languages, name and confidence threshold; intents/<name>.json the responses (text
messages by `lang`), input contexts, output contexts with their lifespans and parameters (slots, with prompts
by language); intents/<name>_usersays_<lang>.json the examples; entities/<name>.json and
entities/<name>_entries_<lang>.json the entities. The fallback intent's texts become the bot's fallback
answers. An intent with `webhookUsed` has its `action` as Charla's action. A custom payload `{"charla": {...}}`
carries what Dialogflow has no field for (see dialogflow_write).
"""

import json
import re
from typing import Any

from .common import (
    Definition,
    Files,
    ImportFormatError,
    check_action,
    check_language,
    check_name,
    check_slot_entities,
    check_text,
    check_texts,
    check_timeout,
    structure_errors,
)

SYS_ENTITIES = {
    "@sys.number": "sys.number", "@sys.number-integer": "sys.number", "@sys.cardinal": "sys.number",
    "@sys.date-time": "sys.datetime", "@sys.date": "sys.datetime", "@sys.time": "sys.datetime",
    "@sys.email": "sys.email", "@sys.phone-number": "sys.phone",
}  # fmt: skip
PAYLOAD_KEY = "charla"
_USERSAYS = re.compile(r"^intents/(?P<name>.+)_usersays_(?P<lang>[a-zA-Z-]+)\.json$")
_ENTRIES = re.compile(r"^entities/(?P<name>.+)_entries_(?P<lang>[a-zA-Z-]+)\.json$")


def dialogflow_to_definition(files: Files, *, notes: list[str]) -> Definition:
    if "agent.json" not in files:
        raise ImportFormatError("upload", "no agent.json: not a Dialogflow ES agent export.")
    agent = _json("agent.json", files)
    if not isinstance(agent, dict):
        raise ImportFormatError("agent.json", "expected a JSON object.")
    languages = [
        check_language(lang, "agent.json")
        for lang in [agent.get("language", "en"), *agent.get("supportedLanguages", [])]
    ]
    definition: Definition = {"languages": list(dict.fromkeys(languages)), "intents": [], "fallback": {}}
    if agent.get("displayName"):
        definition["name"] = str(agent["displayName"])[:100]
    if "mlMinConfidence" in agent:
        definition["confidence_threshold"] = float(agent["mlMinConfidence"])
    with structure_errors("entities/"):
        definition["entities"] = _entities(files, definition["languages"])
    for name in sorted(files):
        if name.startswith("intents/") and name.endswith(".json") and not _USERSAYS.match(name):
            with structure_errors(name):
                _intent(name, _json(name, files), files, definition, notes)
    check_slot_entities(definition, "intents/")
    return definition


def _json(name: str, files: Files) -> Any:
    try:
        return json.loads(files[name])
    except json.JSONDecodeError as exc:
        raise ImportFormatError(name, f"invalid JSON: {exc.msg} (column {exc.colno}).", exc.lineno) from exc


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "_", name.strip().lower()).strip("_")[:100]


def _intent(file: str, data: dict, files: Files, definition: Definition, notes: list[str]) -> None:
    response = (data.get("responses") or [{}])[0]
    texts, payloads = _messages(file, response.get("messages") or [], definition["languages"])
    if data.get("fallbackIntent"):
        definition["fallback"] = {lang: t for lang, t in texts.items() if t}
        _action_settings(file, payloads, definition)
        return
    slug = check_name(_slug(str(data.get("name", ""))), "intent", file, None)
    if slug != data.get("name"):
        notes.append(f"{file}: intent {data.get('name')!r} imported as {slug!r}.")
    extra = payloads.get("", {})
    contexts: dict[str, list[dict]] = {}
    if data.get("contexts"):
        contexts["needs"] = [{"name": check_name(_slug(c), "context", file, None)} for c in data["contexts"]]
    sets = [c for c in response.get("affectedContexts") or [] if c.get("lifespan", 5) > 0]
    if sets:
        minutes = extra.get("context_minutes", {})
        contexts["sets"] = [
            {
                "name": _slug(c["name"]),
                "turns": int(c.get("lifespan", 5)),
                "minutes": int(minutes.get(_slug(c["name"]), 20)),
            }
            for c in sets
        ]
    intent: dict[str, Any] = {
        "slug": slug,
        "examples": _usersays(data.get("name", ""), files, definition["languages"]),
        "responses": {lang: t for lang, t in texts.items() if t},
    }
    if "description" in extra:
        intent["description"] = str(extra["description"])
    intent["contexts"] = contexts  # an intent file is complete: what it lacks, the intent lacks
    intent["buttons"] = {lang: p["buttons"] for lang, p in payloads.items() if lang and p.get("buttons")}
    by_context: dict[str, dict[str, list[str]]] = {}
    for lang, payload in payloads.items():
        for context, context_texts in (payload.get("context_responses") or {}).items():
            by_context.setdefault(context, {})[lang] = context_texts
    intent["context_responses"] = [{"context": c, "responses": r} for c, r in by_context.items()]
    intent["slots"] = _slots(file, response.get("parameters") or [], notes)
    # Dialogflow's prebuilt intents name actions (input.welcome) that call nothing: only a webhook call is Charla's
    intent["action"] = _action(file, response.get("action"), slug, notes) if data.get("webhookUsed") else ""
    definition["intents"].append(intent)


def _action(file: str, action: str | None, slug: str, notes: list[str]) -> str:
    """The action of an intent whose webhook is on; without a name (Dialogflow then calls the agent's one URL),
    the intent's slug."""
    if not action:
        notes.append(f"{file}: webhook call without an action name; imported as action {slug!r}.")
    return check_action(action or slug, file)


def _action_settings(file: str, payloads: dict[str, dict], definition: Definition) -> None:
    failure = {
        lang: check_texts(payload["action_failure"], f"{file} (action failure responses, {lang})")
        for lang, payload in payloads.items()
        if lang and "action_failure" in payload
    }
    actions = {"failure": failure} if failure else {}
    if "action_timeout" in payloads.get("", {}):
        actions["timeout"] = check_timeout(payloads[""]["action_timeout"], file)
    if actions:
        definition["actions"] = actions


def _messages(file: str, messages: list[dict], languages: list[str]) -> tuple[dict[str, list[str]], dict[str, dict]]:
    """Text variants by language, and the Charla payloads by language ("" for the language-free one)."""
    texts: dict[str, list[str]] = {}
    payloads: dict[str, dict] = {}
    for message in messages:
        lang = message.get("lang", languages[0])
        if lang not in languages:
            continue
        kind = str(message.get("type", "0"))
        if kind == "0":
            speech = message.get("speech", [])
            texts.setdefault(lang, []).extend([speech] if isinstance(speech, str) else speech)
        elif kind == "4" and isinstance(message.get("payload", {}).get(PAYLOAD_KEY), dict):
            payload = message["payload"][PAYLOAD_KEY]
            payloads.setdefault(lang, {}).update(payload.get("language") or {})
            payloads.setdefault("", {}).update(payload.get("intent") or {})
            payloads[""].update(payload.get("agent") or {})  # the fallback intent's: the bot's settings
    return texts, payloads


def _usersays(name: str, files: Files, languages: list[str]) -> dict[str, list[str]]:
    examples: dict[str, list[str]] = {}
    for lang in languages:
        file = f"intents/{name}_usersays_{lang}.json"
        if file not in files:
            continue
        for index, phrase in enumerate(_json(file, files)):
            text = "".join(part.get("text", "") for part in phrase.get("data", []))
            text = check_text(text, f"{file} [phrase {index + 1}]", None)
            if text not in examples.setdefault(lang, []):
                examples[lang].append(text)
    return examples


def _slots(file: str, parameters: list[dict], notes: list[str]) -> list[dict]:
    slots = []
    for parameter in parameters:
        data_type = parameter.get("dataType", "")
        entity = SYS_ENTITIES.get(data_type) or (
            _slug(data_type[1:]) if data_type.startswith("@") and not data_type.startswith("@sys.") else None
        )
        if entity is None:
            notes.append(
                f"{file}: parameter {parameter.get('name')!r} of type {data_type!r} has no Charla entity; skipped."
            )
            continue
        prompts: dict[str, list[str]] = {}
        for prompt in parameter.get("prompts") or []:
            prompts.setdefault(prompt.get("lang", "en"), []).append(prompt["value"])
        slots.append({"name": check_name(parameter.get("name"), "parameter", file, None), "entity": entity,
                      "required": bool(parameter.get("required", False)), "prompts": prompts})  # fmt: skip
    return slots


def _entities(files: Files, languages: list[str]) -> list[dict]:
    entities = []
    for file in sorted(files):
        if not (file.startswith("entities/") and file.endswith(".json")) or _ENTRIES.match(file):
            continue
        data = _json(file, files)
        name = check_name(_slug(str(data.get("name", ""))), "entity", file, None)
        by_language = {
            lang: _json(entries, files)
            for lang in languages
            if (entries := f"entities/{data.get('name')}_entries_{lang}.json") in files
        }
        if data.get("isRegexp"):
            patterns = list(dict.fromkeys(e["value"] for entries in by_language.values() for e in entries))
            pattern = patterns[0] if len(patterns) == 1 else "|".join(f"(?:{p})" for p in patterns)
            entities.append({"name": name, "kind": "regex", "pattern": pattern, "values": []})
            continue
        values: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        for lang, entries in by_language.items():
            for entry in entries:
                synonyms = tuple(s for s in entry.get("synonyms", []) if s != entry["value"])
                values.setdefault((entry["value"], synonyms), []).append(lang)
        every = len(by_language)  # a value in every language, with the same synonyms, is matched in any language
        rows = [
            {"value": value, "synonyms": list(synonyms), "language": "" if len(langs) == every else lang}
            for (value, synonyms), langs in values.items()
            for lang in (langs[:1] if len(langs) == every else langs)
        ]
        entities.append({"name": name, "kind": "lookup", "pattern": "", "values": rows})
    return entities
