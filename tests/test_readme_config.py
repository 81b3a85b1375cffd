"""One home for the settings (bot/config_schema.py): the README's tables are generated from
it and current, the loader accepts exactly its keys, and what it says by default is what a
config without the key gets."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.config_schema import OPTIONS, markdown_tables, readme_with_tables
from bot.errors import ConfigError
from tests.conftest import ROOT

TOPICS = ROOT / "config" / "topics.toml"


def test_the_readme_tables_are_generated_from_the_schema_and_current() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown_tables() in readme
    assert readme_with_tables(readme) == readme, "run: python -m bot.config_schema --readme"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def _config(folder: Path, options: dict[str, object]) -> Path:
    tables: dict[str, list[str]] = {"": [f'topics = "{TOPICS.as_posix()}"']}
    for name, value in options.items():
        table, _, key = name.rpartition(".")
        tables.setdefault(table, []).append(f"{key} = {_toml(value)}")
    lines = list(tables.pop(""))
    for table, rows in tables.items():
        lines += [f"[{table}]", *rows]
    path = folder / "newsbot.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tomllib.loads(path.read_text(encoding="utf-8"))
    return path


def test_every_key_written_with_its_default_loads_as_if_absent(tmp_path: Path) -> None:
    written = {o.name: o.default for o in OPTIONS if o.default is not None and o.name != "topics"}
    explicit = load_settings(_config(tmp_path, written), {})
    (tmp_path / "bare").mkdir()
    bare = load_settings(_config(tmp_path / "bare", {}), {})
    fields = [f for f in vars(bare) if f not in ("config_path", "topics_path", "data_dir")]
    assert {f: getattr(explicit, f) for f in fields} == {f: getattr(bare, f) for f in fields}


@pytest.mark.parametrize("table", sorted({o.table for o in OPTIONS} - {""}))
def test_a_key_the_schema_does_not_have_is_refused_with_the_keys_it_has(
    tmp_path: Path, table: str
) -> None:
    with pytest.raises(ConfigError, match="unknown key") as caught:
        load_settings(_config(tmp_path, {f"{table}.no_such_key": 1}), {})
    assert "allowed keys:" in str(caught.value)


def test_a_number_below_its_least_value_is_refused(tmp_path: Path) -> None:
    bounded = [o for o in OPTIONS if o.minimum]
    assert bounded
    for o in bounded:
        value = o.minimum / 2 if isinstance(o.default, float) else int(o.minimum) - 1  # type: ignore[operator]
        with pytest.raises(ConfigError):
            load_settings(_config(tmp_path, {o.name: value}), {})
