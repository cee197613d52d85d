"""The Destination's inputs are the config table's rows, and docs/component.md shows the generated tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stitch_heroku.component_doc import docstrings, input_name
from stitch_heroku.config import SETTINGS
from stitch_heroku.destination import OUTPUTS, Destination, DestinationArgs

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_of_the_config_table_is_an_input_and_nothing_else_is():
    assert list(DestinationArgs.__annotations__) == [input_name(setting) for setting in SETTINGS]


def test_every_input_and_output_has_a_one_line_description_for_the_schema():
    for cls, names in ((DestinationArgs, list(DestinationArgs.__annotations__)), (Destination, list(OUTPUTS))):
        notes = docstrings(cls)
        for name in names:
            assert name in notes and notes[name][1].strip(), f"{cls.__name__}.{name} has no docstring"
            assert "\n" not in notes[name][1], f"{cls.__name__}.{name}: one line, it becomes the schema's description"


def test_the_component_doc_shows_the_generated_tables():
    doc = (ROOT / "docs" / "component.md").read_text()
    start = doc.index("<!-- component tables: generated")
    tables = doc[doc.index("\n", start) + 1 : doc.index("<!-- end of the component tables -->")]
    done = subprocess.run([sys.executable, "-m", "components.component_doc"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert tables == done.stdout, "regenerate them: python -m components.component_doc"
