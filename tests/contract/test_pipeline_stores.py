"""The pipeline over every store: the same feed reports give the same alerts, story edits and
digest on the in-memory reference as on SQLite (the stores of the contract suite)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.models import OutgoingMessage, RawEntry, Topic
from bot.pacing import Rates
from bot.pipeline import Pipeline
from tests.contract.test_store import BACKENDS
from tests.factories import T0, raw
from tests.test_pipeline import Clock, Recorder

QUAKE = Topic("quake", "Quake", "earthquake OR quake")
REPORTS = [
    (
        "bbc",
        "Earthquake of magnitude 6.3 strikes western Afghanistan near Herat",
        "A powerful earthquake struck western Afghanistan on Saturday, killing at least 15 "
        "people in Herat province, officials said.",
    ),
    (
        "aljazeera",
        "Powerful quake hits Herat province, Afghanistan, killing dozens",
        "The 6.3-magnitude earthquake was followed by strong aftershocks in Herat, "
        "Afghanistan's third-largest city.",
    ),
    (
        "nyt",
        "Taliban say more than 2,000 killed in Herat earthquakes",
        "Afghanistan's Taliban government says the magnitude 6.3 quake and its aftershocks in "
        "Herat killed more than 2,000 people.",
    ),
]


def _report(n: int) -> RawEntry:
    outlet, title, text = REPORTS[n]
    return raw(
        title,
        text,
        guid=f"{outlet}:{n}",
        source=f"http://127.0.0.1/{outlet}.xml",
        published=T0 + timedelta(hours=n),
    )


async def _run(backend: str, tmp_path: Path) -> list[tuple[str, int, str]]:
    """What chat 7 saw: ("send" or "edit", chat id, plain text), in order, then its digest."""
    clock = Clock()
    recorder = Recorder()
    pipeline = Pipeline(
        store=BACKENDS[backend](tmp_path / backend),
        topics=[QUAKE],
        timezone=ZoneInfo("UTC"),
        feed_source=None,
        folder_source=None,
        notifiers={"telegram": recorder},
        clock=clock,
        rates=Rates().scaled(1000.0),  # no real waiting between the sends to one chat
    )
    pipeline.store.upsert_chat(7, "private", "", clock())
    pipeline.store.subscribe(7, "quake", clock())
    seen: list[tuple[str, int, str]] = []
    for n in range(len(REPORTS)):
        clock.now = T0 + timedelta(hours=n, minutes=5)
        pipeline.ingest([_report(n)])
        await pipeline.deliver_pending()
    seen += [("send", chat, m.plain) for chat, m in recorder.sent]
    seen += [("edit", chat, m.plain) for chat, _, m in recorder.edits]
    parts: list[OutgoingMessage]
    parts, _ = pipeline.build_digest(7)
    seen += [("digest", 7, m.plain) for m in parts]
    pipeline.store.close()
    return seen


async def test_every_store_gives_the_pipeline_the_same_alerts_edits_and_digest(
    tmp_path: Path,
) -> None:
    runs = {backend: await _run(backend, tmp_path) for backend in sorted(BACKENDS)}
    reference = runs["memory"]
    assert [kind for kind, _, _ in reference].count("send") >= 2  # news of the story alerts
    assert "edit" in {kind for kind, _, _ in reference}  # a report without news edits
    assert "digest" in {kind for kind, _, _ in reference}
    for backend, seen in runs.items():
        assert seen == reference, backend
