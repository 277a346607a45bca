"""Rasa 3.x projects (config.yml, domain.yml, data/*.yml) read into a bot definition.

Every YAML file of a project is read and its top-level keys (nlu, responses, intents, actions, slots, forms,
rules, stories, language, pipeline) count wherever they are, as Rasa itself splits a project freely. An archive
holding folders named by language (`en/`, `es/`), each a project, is one bilingual bot; otherwise the archive is one
project in the language given (or its config.yml's). What does not map to Charla is listed in the notes.
"""

import re
from typing import Any

from .common import (
    LANGUAGES,
    Definition,
    Files,
    ImportFormatError,
    check_language,
    check_name,
    check_text,
    check_timeout,
    structure_errors,
)
from .merge import definition_merge
from .rasa_map import project_definition
from .yaml_lines import LINE, VALUE_LINES, items, plain, yaml_read

SIDECAR = "charla.yml"  # Charla's bot settings a Rasa project has no place for (name, languages, action timeout)
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<paren>[^)]*)\)|\{(?P<json>[^}]*)\})")
_JSON_ENTITY = re.compile(r'"entity"\s*:\s*"(?P<entity>[^"]+)"(?:.*?"value"\s*:\s*"(?P<value>[^"]+)")?')


def rasa_to_definition(files: Files, *, language: str | None, notes: list[str]) -> Definition:
    """One bot definition from one or several (one per language) Rasa projects."""
    projects = {lang: _subtree(files, lang) for lang in LANGUAGES if any(n.startswith(f"{lang}/") for n in files)}
    if not projects:
        projects = {None: {name: text for name, text in files.items() if name != SIDECAR}}
    definitions = [_project(project, language=lang or language, notes=notes) for lang, project in projects.items()]
    definition = definitions[0]
    for other in definitions[1:]:
        definition = definition_merge(definition, other)
    _entity_values_for_every_language(definition, len(definitions))
    if SIDECAR in files:
        with structure_errors(SIDECAR):
            sidecar = plain(yaml_read(SIDECAR, files[SIDECAR])) or {}
            definition |= {"name": str(sidecar["name"])[:100]} if "name" in sidecar else {}
            if "timeout" in (sidecar.get("actions") or {}):
                timeout = check_timeout(sidecar["actions"]["timeout"], SIDECAR)
                definition["actions"] = definition.get("actions", {}) | {"timeout": timeout}
    return definition


def _subtree(files: Files, prefix: str) -> Files:
    """The files of one language's project, keeping their full names for error messages."""
    return {name: text for name, text in files.items() if name.startswith(f"{prefix}/")}


def _project(files: Files, *, language: str | None, notes: list[str]) -> Definition:
    documents = {}
    for name, text in sorted(files.items()):
        if name.endswith((".yml", ".yaml")):
            document = yaml_read(name, text)
            if document is not None and not isinstance(document, dict):
                raise ImportFormatError(name, "expected a mapping at the top (version, nlu, responses…).", 1)
            documents[name] = document or {}
        else:
            notes.append(f"{name}: skipped (only YAML files are read).")
    if not documents:
        raise ImportFormatError("upload", "no Rasa YAML file (domain.yml, data/nlu.yml) found.")
    config_language = next((d["language"] for d in documents.values() if "language" in d), None)
    file = next((n for n, d in documents.items() if "language" in d), "config.yml")
    lang = check_language(language or config_language or "en", file)
    reader = _ProjectReader(lang, notes)
    for name, document in documents.items():
        with structure_errors(name):
            reader.read(name, document)
    with structure_errors("domain.yml"):
        return reader.definition()


class _ProjectReader:
    """Collects one project's pieces across its files, then maps them to Charla's definition."""

    def __init__(self, language: str, notes: list[str]):
        self.language, self.notes = language, notes
        self.examples: dict[str, list[str]] = {}
        self.intent_metadata: dict[str, dict] = {}
        self.responses: dict[str, tuple[str, list]] = {}  # name -> (file, variations)
        self.slots: dict[str, dict] = {}
        self.forms: dict[str, tuple[str, list[str]]] = {}  # form -> (file, required slots)
        self.actions: dict[str, str] = {}  # action the domain declares -> its file
        self.steps: list[list[dict]] = []
        self.regexes: dict[str, list[str]] = {}
        self.lookups: dict[str, list[str]] = {}
        self.synonyms: dict[str, list[str]] = {}
        self.annotated: dict[str, str] = {}  # synonym value -> entity, from `[text](entity:value)`
        self.threshold: float | None = None
        self.has_domain = False  # then an intent without a response or form in it has none

    def read(self, file: str, document: dict) -> None:
        self.has_domain |= any(key in document for key in ("responses", "forms", "slots", "intents", "actions"))
        for item in document.get("nlu") or []:
            self._nlu_item(file, item)
        for name, variations in items(document.get("responses") or {}):
            self.responses[name] = (file, variations or [])
        for entry in document.get("intents") or []:
            name = next(iter(k for k, _ in items(entry)), None) if isinstance(entry, dict) else entry
            self.examples.setdefault(check_name(name, "intent", file, document[VALUE_LINES].get("intents")), [])
        for entry in document.get("actions") or []:  # a name, or {name: {send_domain: …}}
            self.actions[str(next(iter(k for k, _ in items(entry))) if isinstance(entry, dict) else entry)] = file
        for name, slot in items(document.get("slots") or {}):
            self.slots[name] = plain(slot) or {}
        for name, form in items(document.get("forms") or {}):
            required = plain((form or {}).get("required_slots") or [])
            self.forms[name] = (file, [s if isinstance(s, str) else next(iter(s)) for s in required])
        for story in [*(document.get("rules") or []), *(document.get("stories") or [])]:
            self.steps.append(plain(story.get("steps") or []))
        for component in document.get("pipeline") or []:
            if isinstance(component, dict) and component.get("name") == "FallbackClassifier":
                self.threshold = float(component.get("threshold", 0.3))

    def _nlu_item(self, file: str, item: Any) -> None:
        if not isinstance(item, dict):
            raise ImportFormatError(file, "each nlu entry must be a mapping (intent:, synonym:, regex:, lookup:).")
        line = item[LINE]
        kind = next((k for k in ("intent", "synonym", "regex", "lookup") if k in item), None)
        if kind is None:
            raise ImportFormatError(file, "nlu entry without intent, synonym, regex or lookup.", line)
        texts = self._examples(file, item)
        name = str(item[kind])
        if kind == "intent":
            self.examples.setdefault(check_name(name, "intent", file, line), []).extend(texts)
            self.intent_metadata[name] = plain(item.get("metadata") or {})
        elif kind == "synonym":
            self.synonyms.setdefault(name, []).extend(texts)
        elif kind == "regex":
            self.regexes.setdefault(check_name(name, "regex", file, line), []).extend(texts)
        else:
            self.lookups.setdefault(check_name(name, "lookup", file, line), []).extend(texts)

    def _examples(self, file: str, item: dict) -> list[str]:
        """The entry's examples, annotations stripped; a `|` block's line i is on the value's line + 1 + i."""
        value, first = item.get("examples", ""), item[VALUE_LINES].get("examples", item[LINE])
        if isinstance(value, list):  # the long form: - text: … metadata: …
            return [self._example(file, e.get("text") if isinstance(e, dict) else e, first) for e in value]
        if not isinstance(value, str):
            raise ImportFormatError(file, "examples must be a `|` block of `- text` lines.", first)
        texts = []
        for offset, raw in enumerate(value.splitlines()):
            if not raw.strip():
                continue
            if not raw.lstrip().startswith("- "):
                raise ImportFormatError(
                    file, f"example lines start with '- ', found {raw.strip()!r}.", first + 1 + offset
                )
            texts.append(self._example(file, raw.lstrip()[2:], first + 1 + offset))
        return texts

    def _example(self, file: str, text: Any, line: int) -> str:
        if isinstance(text, str):
            for match in _ANNOTATION.finditer(text):
                entity, value = _annotation(match)
                if entity and value:
                    self.annotated[value] = entity
            text = _ANNOTATION.sub(lambda m: m["text"], text)
        return check_text(text, file, line)

    def definition(self) -> Definition:
        return project_definition(self)


def _annotation(match: re.Match) -> tuple[str | None, str | None]:
    if match["paren"] is not None:
        entity, _, value = match["paren"].partition(":")
        return entity, value or None
    found = _JSON_ENTITY.search(match["json"] or "")
    return (found["entity"], found["value"]) if found else (None, None)


def _entity_values_for_every_language(definition: Definition, projects: int) -> None:
    """A lookup value found in every project is matched in every language; otherwise in its project's."""
    for entity in definition.get("entities", []):
        counts: dict[str, list[dict]] = {}
        for value in entity["values"]:
            counts.setdefault(value["value"], []).append(value)
        entity["values"] = [
            value
            for found in counts.values()
            for value in ([{**found[0], "language": ""}] if _same_everywhere(found, projects) else found)
        ]


def _same_everywhere(values: list[dict], projects: int) -> bool:
    return len(values) == projects and all(sorted(v["synonyms"]) == sorted(values[0]["synonyms"]) for v in values)
