"""What every format shares: the error that names a file and line, checks on names and texts, archives.

A bot *definition* is the dict `intents.services.bot_load_definition` loads (intents/demo/demo_bot.json, with
the optional dialogue keys of intents/dialogue.py). Converters read files into one and write one into files;
they know nothing of Django.
"""

import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "es")
BUILTIN_ENTITIES = ("sys.number", "sys.datetime", "sys.email", "sys.phone")
MAX_EXAMPLE_CHARS = 500  # TrainingExample.text
MAX_ARCHIVE_BYTES = 50 * 1024 * 1024  # uncompressed: a zip bomb is refused before it fills memory
_NAME = re.compile(r"^[-a-zA-Z0-9_]{1,100}$")  # Django's SlugField, as intent and entity names are
# intents.models.bots.ACTION_NAME (Intent.action): a relative path appended to the bot's action base URL
ACTION_NAME = re.compile(r"^([\w-]+(\.[\w-]+)*)(/[\w-]+(\.[\w-]+)*)*$|^$")
ACTION_TIMEOUT = (0.1, 30.0)  # Bot.action_timeout, seconds

Definition = dict[str, Any]
Files = dict[str, str]  # path inside the project (posix) -> text


class ImportFormatError(ValueError):
    """A file that cannot be imported; the message names the file and, where known, the line."""

    def __init__(self, file: str, message: str, line: int | None = None):
        self.file, self.line = file, line
        super().__init__(f"{file}, line {line}: {message}" if line else f"{file}: {message}")


def check_name(name: object, what: str, file: str, line: int | None) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ImportFormatError(
            file, f"{what} {name!r} is not a valid name (letters, digits, - and _, up to 100).", line
        )
    return name


def check_text(text: object, file: str, line: int | None, limit: int | None = MAX_EXAMPLE_CHARS) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ImportFormatError(file, f"expected a non-empty text, got {text!r}.", line)
    if limit and len(text) > limit:
        raise ImportFormatError(file, f"text longer than {limit} characters.", line)
    return text.strip()


def check_texts(texts: object, file: str) -> list[str]:
    """Texts one of which is picked at random (action failure responses): a list of non-empty texts."""
    if not isinstance(texts, list):
        raise ImportFormatError(file, f"expected a list of texts, got {texts!r}.")
    return [check_text(text, file, None, limit=None) for text in texts]


def check_action(name: object, file: str) -> str:
    if not isinstance(name, str) or len(name) > 200 or not ACTION_NAME.match(name):
        raise ImportFormatError(
            file, f"action {name!r} is not a relative path (letters, digits, _ - . and /, up to 200)."
        )
    return name


def check_timeout(seconds: object, file: str) -> float:
    low, high = ACTION_TIMEOUT
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not low <= seconds <= high:
        raise ImportFormatError(file, f"action timeout {seconds!r} is not a number of seconds from {low} to {high}.")
    return float(seconds)


def check_language(language: object, file: str, line: int | None = None) -> str:
    if language not in LANGUAGES:
        raise ImportFormatError(file, f"language {language!r} is not supported (one of {', '.join(LANGUAGES)}).", line)
    return language


def check_slot_entities(definition: Definition, file: str) -> None:
    """Slots must name a built-in entity or one the definition declares (the database does not check it)."""
    known = set(BUILTIN_ENTITIES) | {entity["name"] for entity in definition.get("entities", [])}
    for intent in definition["intents"]:
        for slot in intent.get("slots", []):
            if slot["entity"] not in known:
                raise ImportFormatError(
                    file, f"slot {slot['name']!r} of intent {intent['slug']!r} uses unknown entity {slot['entity']!r}."
                )


def read_files(name: str, data: bytes) -> Files:
    """The text files of an upload: a zip's members, or the one file itself."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return {Path(name).name: _decode(name, data)}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [m for m in archive.infolist() if not m.is_dir() and not _ignored(m.filename)]
        if sum(m.file_size for m in members) > MAX_ARCHIVE_BYTES:
            raise ImportFormatError(name, f"archive larger than {MAX_ARCHIVE_BYTES // 2**20} MiB once unpacked.")
        return _strip_common_folder({m.filename: _decode(m.filename, archive.read(m)) for m in members})


def read_folder(path: Path) -> Files:
    files = {p.relative_to(path).as_posix(): p for p in sorted(path.rglob("*")) if p.is_file()}
    return {name: _decode(name, p.read_bytes()) for name, p in files.items() if not _ignored(name)}


def write_zip(files: Files) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(files.items()):
            archive.writestr(name, text)
    return buffer.getvalue()


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(name, f"not UTF-8 text (byte {exc.start}).") from exc


def _ignored(name: str) -> bool:
    parts = Path(name).parts
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _strip_common_folder(files: Files) -> Files:
    """Zips made by zipping a folder hold everything under that folder's name: read them as if they did not."""
    tops = {name.split("/", 1)[0] for name in files}
    if len(tops) == 1 and all("/" in name for name in files) and tops.pop() not in LANGUAGES:
        return {name.split("/", 1)[1]: text for name, text in files.items()}
    return files


@contextmanager
def structure_errors(file: str) -> Iterator[None]:
    """A file that parses but is not shaped as its format says (a list where a mapping belongs…) is named too."""
    try:
        yield
    except ImportFormatError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
        raise ImportFormatError(file, f"unexpected structure ({type(exc).__name__}: {exc}).") from exc


def check_definition(definition: Definition, file: str) -> None:
    """What the database would refuse, or the dialogue could not use, with a less helpful message: over-long or
    malformed names and values, a threshold out of range, buttons and contexts of the wrong shape. (Actions and
    their settings are checked where they are read, naming their file.)"""
    with structure_errors(file):
        for intent in definition["intents"]:
            _check_intent_parts(intent, file)
    threshold = definition.get("confidence_threshold", 0.5)
    if not 0 <= threshold <= 1:
        raise ImportFormatError(file, f"confidence threshold {threshold} is not between 0 and 1.")
    for entity in definition.get("entities", []):
        check_name(entity["name"], "entity", file, None)
        if len(entity["pattern"]) > 500:
            raise ImportFormatError(file, f"entity {entity['name']!r}: pattern longer than 500 characters.")
        if entity["kind"] == "regex":
            try:
                re.compile(entity["pattern"])
            except re.error as exc:
                raise ImportFormatError(
                    file, f"entity {entity['name']!r}: invalid regular expression ({exc})."
                ) from exc
        for value in entity["values"]:
            check_text(value["value"], f"{file} (entity {entity['name']})", None, limit=200)


def _check_intent_parts(intent: dict, file: str) -> None:
    where = f"{file} (intent {intent['slug']})"
    for direction, items in intent.get("contexts", {}).items():
        if direction not in ("needs", "sets"):
            raise ImportFormatError(where, f"contexts are 'needs' or 'sets', not {direction!r}.")
        for item in items:
            check_name(item["name"], "context", where, None)
            if not all(isinstance(item.get(key, 1), int) for key in ("turns", "minutes")):
                raise ImportFormatError(where, f"context {item['name']!r}: turns and minutes are whole numbers.")
    for item in intent.get("context_responses", []):
        check_name(item["context"], "context", where, None)
    for buttons in intent.get("buttons", {}).values():
        if not all(isinstance(b.get("title"), str) and isinstance(b.get("payload"), str) for b in buttons):
            raise ImportFormatError(where, "each button needs a text title and payload.")
    for slot in intent.get("slots", []):
        check_name(slot["name"], "slot", where, None)
