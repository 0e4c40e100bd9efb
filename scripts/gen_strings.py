"""Write translations/en.json from strings.json.

Custom integrations ship translations/ only; strings.json is the source we edit,
as in Home Assistant core. Run after changing strings.json:
    .venv/bin/python scripts/gen_strings.py
A test fails when the two differ.
"""

from __future__ import annotations

import json
from pathlib import Path

INTEGRATION = Path(__file__).resolve().parent.parent / "custom_components" / "iotitan"


def main() -> None:
    """Copy strings.json to translations/en.json, normalised."""
    strings = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
    target = INTEGRATION / "translations" / "en.json"
    target.write_text(
        json.dumps(strings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
