"""YAML read with line numbers, so an error can name the line (PyYAML's marks), and YAML written readably."""

from typing import Any

import yaml

from .common import ImportFormatError

LINE = "__line__"  # a mapping's first line
VALUE_LINES = "__value_lines__"  # key -> first line of its value


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        mapping = super().construct_mapping(node, deep=deep)
        mapping[LINE] = node.start_mark.line + 1
        mapping[VALUE_LINES] = {
            key.value: value.start_mark.line + 1 for key, value in node.value if isinstance(key, yaml.ScalarNode)
        }
        return mapping


def yaml_read(file: str, text: str) -> Any:
    """The document, every mapping carrying LINE and VALUE_LINES; a syntax error names the file and line."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ImportFormatError(
            file, f"invalid YAML: {exc.problem or exc.context}.", mark.line + 1 if mark else None
        ) from exc
    except yaml.YAMLError as exc:
        raise ImportFormatError(file, f"invalid YAML: {exc}.") from exc


def items(mapping: dict) -> list[tuple[Any, Any]]:
    """A mapping's own entries, without the line bookkeeping."""
    return [(key, value) for key, value in mapping.items() if key not in (LINE, VALUE_LINES)]


def plain(value: Any) -> Any:
    """The value with the line bookkeeping removed, at every depth."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in items(value)}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


class Block(str):
    """A string written as a YAML literal block (`|`), the way Rasa writes example lists."""


def _block(dumper: yaml.SafeDumper, value: Block) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Block, _block)


def yaml_write(document: Any) -> str:
    return yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)
