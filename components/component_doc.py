"""docs/component.md's tables of the Destination's inputs and outputs, generated from the code (`python -m components.component_doc`).

One table, as the config table is one table: every input is a row of config.py's SETTINGS (the same parser,
default and sources), named in snake_case in Python and camelCase in the schema, with the one-line docstring
the schema's description comes from. tests/test_component_doc.py checks that the doc is the generated one
and that DestinationArgs and SETTINGS hold the same settings.
"""

from __future__ import annotations

import ast
import inspect
import sys

from .config import HEROKU_KEY, SETTINGS, STITCH_TOKEN_KEY, Setting

# The two settings whose config key is a provider's (namespaced) and whose input is not.
INPUT_NAMES = {HEROKU_KEY: "heroku_api_key", STITCH_TOKEN_KEY: "stitch_access_token"}


# Where a Destination's default differs from this program's config key's (destination.default_destination_name).
INPUT_DEFAULT_DOCS = {"stitch_destination_name": "`<project>-<stack>-<name>` (this repository's program: `<project>-<stack>`)"}


def input_name(setting: Setting) -> str:
    return INPUT_NAMES.get(setting.key, setting.key)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def docstrings(cls: type) -> dict[str, tuple[str, str]]:
    """(annotation as written, docstring) of each attribute of a class: the string after each annotated name, as
    the SDK's analyzer reads it."""
    found: dict[str, tuple[str, str]] = {}
    (node,) = ast.parse(inspect.getsource(cls)).body
    assert isinstance(node, ast.ClassDef)
    for statement, following in zip(node.body, node.body[1:], strict=False):
        named = isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
        if named and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
            found[statement.target.id] = (ast.unparse(statement.annotation).replace("pulumi.", ""), str(following.value.value))
    return found


def markdown_inputs() -> str:
    from .destination import DestinationArgs

    notes = docstrings(DestinationArgs)
    rows = ["| Python | schema | type | sources | default | meaning |", "|---|---|---|---|---|---|"]
    for setting in SETTINGS:
        name = input_name(setting)
        sources = "with a Stitch token" if setting.needs_token else ("all" if len(setting.sources) == 3 else ", ".join(setting.sources))
        kind, note = notes[name]
        default = INPUT_DEFAULT_DOCS.get(setting.key, setting.default_doc)
        rows.append(f"| `{name}` | `{camel(name)}` | `{kind}` | {sources} | {default} | {note} |")
    return "\n".join(rows)


def markdown_outputs() -> str:
    from .destination import OUTPUTS, Destination

    notes = docstrings(Destination)
    rows = ["| Python | schema | type | meaning |", "|---|---|---|---|"]
    for name in OUTPUTS:
        kind, note = notes[name]
        rows.append(f"| `{name}` | `{camel(name)}` | `{kind.replace('|', 'or')}` | {note} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.stdout.write(f"### Inputs\n\n{markdown_inputs()}\n\n### Outputs\n\n{markdown_outputs()}\n")
