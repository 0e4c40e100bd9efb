"""Every string renders in the browser as written, and errors read as plain text.

Home Assistant's frontend formats each translation with `intl-messageformat`; a
string it cannot format is replaced by "Translation error: ..." in the form. The
check runs the same library under Node.js (tests/frontend/, installed by
scripts/setup) over translations/en.json.
"""

from __future__ import annotations

import json
from pathlib import Path
import shutil
import subprocess
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RENDERER = ROOT / "tests" / "frontend" / "render_strings.mjs"
TRANSLATIONS = ROOT / "custom_components" / "iotitan" / "translations" / "en.json"


def render(path: Path) -> dict[str, Any]:
    """Run the frontend's message formatter over a translations file."""
    node = shutil.which("node")
    assert node, "Node.js is needed to render strings as the frontend does"
    assert (RENDERER.parent / "node_modules" / "intl-messageformat").is_dir(), (
        "run scripts/setup: it installs tests/frontend's intl-messageformat"
    )
    result = subprocess.run(
        [node, str(RENDERER), str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def leaves(node: Any, path: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(dotted key, text) of every string in a translations tree."""
    if isinstance(node, str):
        return [(".".join(path), node)]
    return [leaf for key, value in node.items() for leaf in leaves(value, (*path, key))]


def test_every_string_renders_without_a_translation_error() -> None:
    """No `<word>` parsed as markup, no unbalanced braces, every placeholder valid."""
    result = render(TRANSLATIONS)
    assert result["failures"] == []
    assert result["rendered"] == len(leaves(json.loads(TRANSLATIONS.read_text())))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("Goes to `<prefix>/stats/<topic>`.", "UNCLOSED_TAG"),
        ("Line `<app name>[PID]: payload`.", "INVALID_TAG"),
        ("Unbalanced {brace", "EXPECT_ARGUMENT_CLOSING_BRACE"),
    ],
)
def test_the_renderer_reports_what_the_frontend_would(
    tmp_path: Path, text: str, error: str
) -> None:
    """The check itself finds the errors the browser showed (so it can fail)."""
    strings = tmp_path / "en.json"
    strings.write_text(json.dumps({"config": {"error": {"planted": text}}}))
    failures = render(strings)["failures"]
    assert [(f["key"], f["error"]) for f in failures] == [
        ("config.error.planted", f"Translation error: {error}")
    ]


def test_errors_are_plain_sentences() -> None:
    """Form errors are shown as plain text, not markdown: no backticks in them."""
    strings = json.loads(TRANSLATIONS.read_text())
    with_markup = [
        (key, text)
        for key, text in leaves(strings)
        if ".error." in f".{key}." and "`" in text
    ]
    assert with_markup == []
