"""The layering rules of docs/architecture.md, checked on the import statements of every module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bot"
TOP = {"bot.scheduler", "bot.cli", "bot.service", "bot.__main__", "bot.logsetup"}
PURE = {
    "bot.normalize",
    "bot.inflect",
    "bot.query",
    "bot.match",
    "bot.summarize",
    "bot.render",
    "bot.pacing",
    "bot.clauses",
    "bot.stories",
    "bot.briefing",
    "bot.intervals",
    "bot.routing",
    "bot.learn",
    "bot.feedback",
    "bot.actions",
    "bot.markdown",
}
BOTTOM = {"bot.models", "bot.errors", "bot.redact"}
INTERFACES = {"bot.storage.base", "bot.notify.base", "bot.sources.base"}


def modules() -> dict[str, set[str]]:
    """Module name -> the bot modules it imports."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        imports: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "bot":  # from bot import x
                imports.update(f"bot.{a.name}" for a in node.names if not a.name.startswith("_"))
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot"):
                imports.add(node.module)
            elif isinstance(node, ast.Import):
                imports.update(a.name for a in node.names if a.name.startswith("bot"))
        found[name] = imports - {"bot"}
    return found


MODULES = modules()
TOP |= {n for n in MODULES if n.startswith("bot.telegram")}  # the Telegram front end


def test_the_package_was_scanned() -> None:
    assert {
        "bot.pipeline",
        "bot.storage.sqlite",
        "bot.sources.feeds",
        "bot.notify.telegram",
    } <= set(MODULES)


@pytest.mark.parametrize("name", sorted(BOTTOM))
def test_models_and_errors_import_nothing_from_bot(name: str) -> None:
    assert MODULES[name] == set()


@pytest.mark.parametrize("name", sorted(PURE))
def test_pure_stages_import_only_bottom_and_pure(name: str) -> None:
    assert MODULES[name] <= BOTTOM | PURE


@pytest.mark.parametrize(
    "name",
    sorted(n for n in MODULES if n.startswith(("bot.sources.", "bot.storage.", "bot.notify."))),
)
def test_adapters_import_only_their_base_and_the_bottom(name: str) -> None:
    package = name.rsplit(".", 1)[0]
    allowed = BOTTOM | {f"{package}.base"}
    fastread = {n for n in MODULES if n.startswith("bot.sources.fastread")}
    if package == "bot.sources":  # the feed reader, its bounds and sandbox, the address guard
        allowed |= {"bot.sources.parse", "bot.sources.bounds", "bot.sources.sandbox"}
        allowed |= {"bot.sources.netguard"}
        if name == "bot.sources.parse":  # the entry point composes the readers
            allowed |= fastread
    if package == "bot.sources.fastread":  # the readers compose one another, within the bounds
        allowed |= fastread | {"bot.sources.bounds"}
    if package.startswith("bot.storage"):  # stores write what the pure routing stage decides
        allowed |= {"bot.routing", "bot.storage.base"}
    if "bot.storage.sqlite" in (name, package):  # the SQLite store's modules compose one another
        allowed |= {n for n in MODULES if n.startswith("bot.storage.sqlite.")}
    assert MODULES[name] <= allowed, f"{name} imports {MODULES[name] - allowed}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_nothing_below_the_top_imports_the_top(name: str) -> None:
    if name in TOP:
        return
    assert not (MODULES[name] & TOP), f"{name} imports {MODULES[name] & TOP}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("bot.telegram")))
def test_telegram_handlers_reach_the_core_through_the_pipeline(name: str) -> None:
    """The front end uses the pipeline's services, never a store or a notifier directly."""
    adapters = {n for n in MODULES if n.startswith(("bot.storage", "bot.notify"))}
    assert not (MODULES[name] & adapters), f"{name} imports {MODULES[name] & adapters}"
    assert not (MODULES[name] & {"bot.service", "bot.cli", "bot.scheduler"})


def test_the_handlers_and_the_cli_never_touch_the_store() -> None:
    """They call the services (``pipeline.chats``, ``pipeline.reports``…); only the service
    and the CLI's set-up build a store and hand it to the pipeline."""
    touching = []
    for path in [*sorted((PACKAGE / "telegram").rglob("*.py")), PACKAGE / "cli.py"]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\.store\.\w+\(|pipeline\.store\b", line):
                touching.append(f"{path.name}:{number}: {line.strip()}")
    assert not touching


def test_pipeline_depends_on_interfaces_not_adapters() -> None:
    concrete = {n for n in MODULES if n.startswith(("bot.sources.", "bot.storage.", "bot.notify."))}
    concrete -= {"bot.sources.base", "bot.storage.base", "bot.notify.base"}
    assert not (MODULES["bot.pipeline"] & concrete)


def test_only_the_cli_reads_the_environment() -> None:
    readers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "os.environ" in text or "os.getenv" in text:
            readers.append(path.name)
    assert readers == ["cli.py"]


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("bot.services.")))
def test_services_use_pure_stages_interfaces_and_each_other_only(name: str) -> None:
    """A service depends on the pure stages, on the adapters' interfaces and on other
    services (and on the config's value types), never on an adapter or on the top layer."""
    services = {n for n in MODULES if n.startswith("bot.services")}
    allowed = BOTTOM | PURE | INTERFACES | services | {"bot.config"}
    assert MODULES[name] <= allowed, f"{name} imports {MODULES[name] - allowed}"


def test_the_pipeline_only_puts_the_services_together() -> None:
    services = {n for n in MODULES if n.startswith("bot.services")}
    allowed = BOTTOM | PURE | INTERFACES | services | {"bot.config"}
    assert MODULES["bot.pipeline"] <= allowed, MODULES["bot.pipeline"] - allowed
    assert MODULES["bot.pipeline"] & services


def test_no_class_in_the_package_is_over_400_lines() -> None:
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                lines = node.end_lineno - node.lineno + 1
                if lines > 400:
                    long.append(f"{path.name}: {node.name} has {lines} lines")
    assert not long


def test_the_learned_layer_imports_only_the_bottom() -> None:
    """bot.learn is a pure stage over examples and words: no query, no match, no I/O layer."""
    assert MODULES["bot.learn"] <= {"bot.models", "bot.errors"}


def test_the_parser_preload_imports_every_reader_module() -> None:
    """bot.sources.sandbox preloads bot.sources.parse in its fork server: importing it must
    import every module of the readers, so that no worker imports one on its first parse."""
    import subprocess
    import sys

    wanted = sorted(n for n in MODULES if n.startswith("bot.sources.fastread"))
    code = "import sys, bot.sources.parse; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert wanted and set(wanted) <= set(loaded), set(wanted) - set(loaded)
