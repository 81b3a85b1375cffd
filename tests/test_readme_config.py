"""The README's configuration table and the keys the config loader accepts say the same thing:
every key the loader takes is documented, and the table names no key the loader refuses."""

from __future__ import annotations

import ast
import re

from tests.conftest import ROOT

TABLES = {"polling": "polling", "telegram": "telegram", "documents": "documents"}
TABLES |= {"digest": "digest", "watch_table": "watches"}
ROW = re.compile(r"^\| `\[(\w+)\] (\w+)` \|", re.MULTILINE)


def accepted() -> set[tuple[str, str]]:
    """(table, key) for every ``<table>.check_keys({...})`` in bot/config.py."""
    tree = ast.parse((ROOT / "bot" / "config.py").read_text(encoding="utf-8"))
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "check_keys"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in TABLES
            and node.args
            and isinstance(node.args[0], ast.Set)
        ):
            table = TABLES[node.func.value.id]
            for element in node.args[0].elts:
                assert isinstance(element, ast.Constant) and isinstance(element.value, str)
                found.add((table, element.value))
    return found


def test_every_accepted_key_is_in_the_readme_and_every_documented_key_is_accepted() -> None:
    keys = accepted()
    assert {t for t, _ in keys} == set(TABLES.values()), "the loader's tables were not all found"
    documented = set(ROW.findall((ROOT / "README.md").read_text(encoding="utf-8")))
    assert sorted(keys - documented) == [], "accepted but not in the README's table"
    assert sorted(documented - keys) == [], "in the README's table but refused by the loader"
