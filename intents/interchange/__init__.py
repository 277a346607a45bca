"""Bots in other tools' formats: Rasa 3.x projects, Dialogflow ES agents, CSV of examples.

Each format converts between its files and a bot definition (the dict intents.services.bot_load_definition
loads); nothing here touches the database.
"""

from pathlib import PurePosixPath

from .common import Definition, Files, ImportFormatError, check_definition, read_files, read_folder, write_zip
from .csv_format import csv_from_definition, csv_to_definition
from .dialogflow_read import dialogflow_to_definition
from .dialogflow_write import dialogflow_from_definition
from .merge import definition_merge
from .rasa_read import rasa_to_definition
from .rasa_write import rasa_from_definition

FORMATS = ("rasa", "dialogflow", "csv")

__all__ = [
    "FORMATS",
    "Definition",
    "Files",
    "ImportFormatError",
    "definition_from_files",
    "definition_merge",
    "definition_to_file",
    "format_detect",
    "read_files",
    "read_folder",
    "write_zip",
]


def format_detect(files: Files) -> str:
    """csv for a lone .csv file, dialogflow when agent.json is there, else rasa."""
    if len(files) == 1 and next(iter(files)).lower().endswith(".csv"):
        return "csv"
    return "dialogflow" if "agent.json" in files else "rasa"


def definition_from_files(fmt: str, files: Files, *, language: str | None, notes: list[str]) -> Definition:
    """The (partial) definition the files hold; `language` for formats that do not say (CSV rows, a Rasa
    project without config.yml; default en). Raises ImportFormatError naming the file and line; appends to `notes` what
    does not map to Charla and was skipped."""
    if fmt == "csv":
        definition = csv_to_definition(files, language=language or "en")
    elif fmt == "dialogflow":
        definition = dialogflow_to_definition(files, notes=notes)
    elif fmt == "rasa":
        definition = rasa_to_definition(files, language=language, notes=notes)
    else:
        raise ImportFormatError("upload", f"unknown format {fmt!r} (one of {', '.join(FORMATS)}).")
    check_definition(definition, next(iter(sorted(files)), "upload"))
    return definition


def definition_to_file(fmt: str, definition: Definition, *, language: str | None = None) -> tuple[str, bytes]:
    """(file name, content): a zip for rasa and dialogflow, a CSV file for csv."""
    slug = definition["slug"]
    if fmt == "csv":
        [(name, text)] = csv_from_definition(definition, language=language).items()
        return (f"{PurePosixPath(name).stem}-{language}.csv" if language else name), text.encode()
    if fmt == "dialogflow":
        return f"{slug}-dialogflow.zip", write_zip(dialogflow_from_definition(definition))
    if fmt == "rasa":
        return f"{slug}-rasa{'-' + language if language else ''}.zip", write_zip(
            rasa_from_definition(definition, language=language)
        )
    raise ValueError(f"unknown format {fmt!r}")
