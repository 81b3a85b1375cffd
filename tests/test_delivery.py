"""Delivery at Telegram's pace: the real python-telegram-bot Bot against the fake Bot API with
its rate limits on, both on one virtual clock (the pacer waits on it, the fake measures by it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telegram import Bot

from bot.errors import MessageTooLong
from bot.models import OutgoingMessage, RawEntry, Topic
from bot.notify.telegram import TelegramNotifier
from bot.pacing import Pacer, Rates, quiet_until
from bot.pipeline import Pipeline, send_message
from bot.storage.sqlite import SQLiteStore
from tests.factories import VirtualTime
from tests.fakebotapi import FakeBotAPI, parse_html, utf16_len

SCALE = 10.0
RATES = Rates().scaled(SCALE)


@pytest.fixture
def virtual() -> VirtualTime:
    """The time the pacer and the fake's rate limits share: it passes as the dispatcher waits."""
    return VirtualTime()


@pytest.fixture
def fake(virtual: VirtualTime) -> Iterator[FakeBotAPI]:
    with FakeBotAPI(clock=virtual.monotonic) as server:
        server.set_rate_limits(
            per_chat_per_second=1.0 * SCALE,
            global_per_second=30.0 * SCALE,
            per_group_per_minute=20.0 * SCALE,
        )
        yield server


def _pipeline(
    tmp_path: Path,
    bot: Bot,
    *,
    rates: Rates = RATES,
    clock: Callable[[], datetime] | None = None,
    virtual: VirtualTime | None = None,
) -> Pipeline:
    timing = {"monotonic": virtual.monotonic, "sleep": virtual.sleep} if virtual else {}
    return Pipeline(
        store=SQLiteStore(tmp_path / "db.sqlite3"),
        topics=[Topic("isis", "ISIS", "ISIS"), Topic("iraq", "Iraq", "Iraq")],
        timezone=ZoneInfo("UTC"),
        feed_source=None,
        folder_source=None,
        notifiers={"telegram": TelegramNotifier(bot)},
        rates=rates,
        clock=clock or (lambda: datetime.now(UTC)),
        **timing,  # type: ignore[arg-type]
    )


def _chats(count: int) -> list[int]:
    """Chat ids 1..count, every tenth a group (negative id, as Telegram gives groups)."""
    return [n if n % 10 else -n for n in range(1, count + 1)]


def _burst(pipeline: Pipeline, chats: int, per_chat: int) -> None:
    now = datetime.now(UTC)
    for chat in _chats(chats):
        pipeline.store.upsert_chat(chat, "private" if chat > 0 else "group", "", now)
        pipeline.store.subscribe(chat, "isis", now)
    raws = [
        RawEntry(
            source="s",
            guid=f"g{n}",
            title=f"ISIS item {n:03d}",
            link=None,
            author=None,
            published=now + timedelta(seconds=n),
            summary="",
            content="",
        )
        for n in range(per_chat)
    ]
    for raw in raws:  # one at a time: their delivery order is their creation order
        pipeline.ingest([raw])


async def test_a_burst_to_many_chats_arrives_complete_in_order_without_a_429(
    tmp_path: Path, fake: FakeBotAPI, virtual: VirtualTime
) -> None:
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        pipeline = _pipeline(tmp_path, bot, virtual=virtual)
        _burst(pipeline, chats=200, per_chat=5)
        report = await pipeline.deliver_pending()
    assert report.sent == 1000 and report.failed == 0
    assert fake.rate_limited == 0
    for chat in _chats(200):
        titles = [m["plain_text"].split("\n")[1] for m in fake.messages_to(chat)]
        assert titles == [f"ISIS item {n:03d}" for n in range(5)], chat


async def test_1000_alerts_to_200_chats_at_telegrams_own_limits_provoke_no_429(
    tmp_path: Path,
) -> None:
    """The same burst with Telegram's real limits on both sides (30/s overall, 1/s per chat,
    20/min per group), on virtual time shared by the pacer and the fake: the 35 seconds it
    takes pass as the dispatcher waits, and no send is early."""
    virtual = VirtualTime()
    start = virtual.now
    with FakeBotAPI(clock=virtual.monotonic) as fake:
        fake.set_rate_limits(
            per_chat_per_second=1.0, global_per_second=30.0, per_group_per_minute=20.0
        )
        async with Bot(fake.token, base_url=fake.base_url) as bot:
            pipeline = _pipeline(tmp_path, bot, rates=Rates(), virtual=virtual)
            _burst(pipeline, chats=200, per_chat=5)
            report = await pipeline.deliver_pending(max_rounds=10_000)
    assert report.sent == 1000 and report.failed == 0 and report.deferred_chats == 0
    assert fake.rate_limited == 0
    # 1,000 messages at 30/s cannot take less than ~33 s; the 20 groups' 5 at 20/min, 12 s.
    assert virtual.now - start >= 999 / 30
    for chat in _chats(200):
        titles = [m["plain_text"].split("\n")[1] for m in fake.messages_to(chat)]
        assert titles == [f"ISIS item {n:03d}" for n in range(5)], chat


async def test_one_busy_chat_does_not_starve_the_others(
    tmp_path: Path, fake: FakeBotAPI, virtual: VirtualTime
) -> None:
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        pipeline = _pipeline(tmp_path, bot, virtual=virtual)
        now = datetime.now(UTC)
        pipeline.store.upsert_chat(1, "private", "", now)
        pipeline.store.subscribe(1, "isis", now)
        for n in range(20):  # chat 1 has 20 alerts queued first
            pipeline.ingest([RawEntry("s", f"a{n}", f"ISIS a{n}", None, None, now, "", "")])
        pipeline.store.upsert_chat(2, "private", "", now)
        pipeline.store.subscribe(2, "isis", now)
        pipeline.ingest([RawEntry("s", "b", "ISIS b", None, None, now, "", "")])
        await pipeline.deliver_pending()
    order = [m["chat_id"] for m in fake.sent]
    assert order.index(2) <= 2  # chat 2's only alert goes out among the first, not after 20


def test_pacer_spacing_follows_the_rates() -> None:
    pacer = Pacer(Rates(overall=1000, private=1.0, group=20 / 60))
    assert pacer.wait(1, "private", 0.0) == 0.0
    pacer.record(1, "private", 0.0)
    assert pacer.wait(1, "private", 0.0) == pytest.approx(1.0)
    assert pacer.wait(1, "private", 0.6) == pytest.approx(0.4)
    assert pacer.wait(2, "private", 0.6) == 0.0  # another chat is not held
    pacer.record(3, "group", 0.6)
    assert pacer.wait(3, "group", 0.6) == pytest.approx(3.0)
    slow = Pacer(Rates(overall=2.0, private=100, group=100))
    slow.record(1, "private", 0.0)
    assert slow.wait(2, "private", 0.0) == pytest.approx(0.5)  # the overall rate holds it


async def test_a_server_error_is_retried_and_the_alert_arrives(
    tmp_path: Path, fake: FakeBotAPI, virtual: VirtualTime
) -> None:
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        pipeline = _pipeline(tmp_path, bot, virtual=virtual)
        _burst(pipeline, chats=1, per_chat=1)
        fake.fail_next_with_server_error(1)
        first = await pipeline.deliver_pending()
        assert first.sent == 0 and first.deferred_chats == 1  # held, not lost
        # Skip the wait: make the held alert due now.
        pipeline.store.db.execute("UPDATE deliveries SET next_attempt_at = '0'")
        second = await pipeline.deliver_pending()
    assert second.sent == 1
    assert [m["plain_text"].split("\n")[1] for m in fake.messages_to(1)] == ["ISIS item 000"]


def test_quiet_hours_span_midnight_and_follow_the_wall_clock() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start, end = time(22, 0), time(7, 0)
    late = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    assert quiet_until(late, berlin, start, end) == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    # The clocks went forward that night: 07:00 local is 05:00 UTC, not 06:00.
    early = datetime(2026, 3, 29, 4, 0, tzinfo=UTC)  # 06:00 local
    assert quiet_until(early, berlin, start, end) == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    noon = datetime(2026, 3, 29, 11, 0, tzinfo=UTC)
    assert quiet_until(noon, berlin, start, end) is None
    assert quiet_until(late, berlin, time(13, 0), time(15, 0)) is None  # a daytime window
    lunch = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)  # 14:00 local
    assert quiet_until(lunch, berlin, time(13, 0), time(15, 0)) == lunch + timedelta(hours=1)
    assert quiet_until(lunch, berlin, time(9, 0), time(9, 0)) is None  # empty window


async def test_quiet_hours_hold_alerts_until_they_end_but_not_urgent_ones(
    tmp_path: Path, fake: FakeBotAPI, virtual: VirtualTime
) -> None:
    now = [datetime(2026, 11, 27, 23, 0, tzinfo=UTC)]
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        pipeline = _pipeline(tmp_path, bot, virtual=virtual, clock=lambda: now[0])
        store = pipeline.store
        store.upsert_chat(1, "private", "", now[0])
        store.subscribe(1, "isis", now[0])
        store.subscribe(1, "iraq", now[0])
        assert store.set_urgent(1, "isis", True)
        store.update_chat(1, {"quiet_start": "22:00", "quiet_end": "07:00"})
        pipeline.ingest([RawEntry("s", "q", "Iraq budget passes", None, None, now[0], "", "")])
        pipeline.ingest([RawEntry("s", "u", "ISIS attack", None, None, now[0], "", "")])
        night = await pipeline.deliver_pending()
        assert night.sent == 1 and night.held_chats == 1
        assert [m["plain_text"].split("\n")[1] for m in fake.messages_to(1)] == ["ISIS attack"]
        now[0] = datetime(2026, 11, 28, 6, 59, tzinfo=UTC)
        assert (await pipeline.deliver_pending()).sent == 0  # still quiet
        now[0] = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
        morning = await pipeline.deliver_pending()
    assert morning.sent == 1
    titles = [m["plain_text"].split("\n")[1] for m in fake.messages_to(1)]
    assert titles == ["ISIS attack", "Iraq budget passes"]


async def test_an_urgent_alert_goes_ahead_of_a_queued_burst(
    tmp_path: Path, fake: FakeBotAPI, virtual: VirtualTime
) -> None:
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        pipeline = _pipeline(tmp_path, bot, virtual=virtual)
        _burst(pipeline, chats=50, per_chat=2)  # 100 ISIS alerts queued
        now = datetime.now(UTC)
        pipeline.store.upsert_chat(999, "private", "", now)
        pipeline.store.subscribe(999, "iraq", now)
        pipeline.store.set_urgent(999, "iraq", True)
        pipeline.ingest([RawEntry("s", "x", "Iraq: urgent", None, None, now, "", "")])
        report = await pipeline.deliver_pending()
    assert report.sent == 101
    assert fake.sent[0]["chat_id"] == 999  # queued last, sent first


async def test_a_message_telegram_finds_too_long_goes_out_in_valid_parts(
    fake: FakeBotAPI,
) -> None:
    paragraphs = [f"<b>Paragraph {n}</b> " + "Troops &amp; tanks moved. " * 20 for n in range(30)]
    text = "\n\n".join(paragraphs)
    plain = parse_html(text)[0]
    message = OutgoingMessage(text, plain, buttons=((("👍", "fb:1:1"),),))
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        notifier = TelegramNotifier(bot)
        with pytest.raises(MessageTooLong):
            await notifier.send(5, message)
        first = await send_message(notifier, 5, message)
    sent = fake.messages_to(5)
    assert len(sent) >= 3 and first == sent[0]["message_id"]
    assert "\n\n".join(m["plain_text"] for m in sent) == plain  # nothing lost, in order
    assert all(utf16_len(m["plain_text"]) <= 4096 for m in sent)
    assert [bool(m.get("reply_markup")) for m in sent] == [False] * (len(sent) - 1) + [True]


async def test_html_telegram_cannot_parse_goes_out_as_plain_text(fake: FakeBotAPI) -> None:
    broken = OutgoingMessage("<b>ISIS <i>claims</b> attack", "ISIS claims attack")
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        await TelegramNotifier(bot).send(5, broken)
    [sent] = fake.messages_to(5)
    assert sent["text"] == "ISIS claims attack" and sent.get("parse_mode") is None


T_EVENT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SAME_EVENT = [
    (
        "Reuters",
        "US and Iraq agree to end anti-ISIS coalition mission by September 2025",
        "The United States and Iraq agreed that the US-led coalition mission against ISIS in "
        "Iraq will end by September 2025, the two governments said on Friday.",
    ),
    (
        "BBC News",
        "US and Iraq agree end of coalition mission against ISIS by September 2025",
        "The US-led coalition fighting ISIS in Iraq will end its mission by September 2025 "
        "under an agreement between the United States and Iraq.",
    ),
    (
        "Al Jazeera",
        "US-led anti-ISIS coalition to end Iraq mission by September 2025",
        "The United States and Iraq say the coalition mission against ISIS in Iraq will end by "
        "September 2025.",
    ),
    (
        "The Guardian",
        "Coalition mission against ISIS in Iraq to end by September 2025, US and Iraq agree",
        "The United States and Iraq have agreed that the US-led coalition's mission against "
        "ISIS in Iraq will end by September 2025. The coalition was formed in 2014 after ISIS "
        "seized large parts of Iraq and Syria. Some 2,500 US troops are in Iraq. Iraqi leaders "
        "have said the country's own forces can now keep ISIS in check. A transition to "
        "bilateral security ties is to follow, officials in Baghdad and Washington said.",
    ),
    (
        "NPR",
        "US and Iraq say anti-ISIS coalition mission will end by September 2025",
        "The US-led coalition against ISIS will end its mission in Iraq by September 2025, the "
        "United States and Iraq said.",
    ),
]
SIMILAR_WORDS = (
    "Reuters",
    "ISIS attack kills Iraqi soldiers near Kirkuk",
    "Islamic State fighters attacked an army post near Kirkuk in northern Iraq, killing four "
    "Iraqi soldiers, security sources said.",
)


def _report(n: int, source: str, title: str, text: str) -> RawEntry:
    return RawEntry(
        f"https://{n}.example/feed",
        f"g{n}",
        title,
        f"https://{n}.example/story",
        None,
        T_EVENT + timedelta(minutes=10 * n),
        text,
        "",
        source_name=source,
    )


async def test_one_event_from_five_feeds_is_one_alert_edited_to_list_the_sources(
    tmp_path: Path, fake: FakeBotAPI, virtual: VirtualTime
) -> None:
    now = [T_EVENT]
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        pipeline = _pipeline(tmp_path, bot, virtual=virtual, clock=lambda: now[0])
        pipeline.store.upsert_chat(1, "private", "", now[0])
        pipeline.store.subscribe(1, "isis", now[0])
        for n, (source, title, text) in enumerate(SAME_EVENT):
            now[0] = T_EVENT + timedelta(minutes=10 * n)
            pipeline.ingest([_report(n, source, title, text)])  # each feed polled in turn
            await pipeline.deliver_pending()
        pipeline.ingest([_report(9, *SIMILAR_WORDS)])
        await pipeline.deliver_pending()
    sent = fake.messages_to(1)
    assert len(sent) == 2  # the event once, the other event once
    assert "US and Iraq agree to end anti-ISIS coalition" in sent[0]["plain_text"]
    assert "Kirkuk" in sent[1]["plain_text"] and "📰" not in sent[1]["plain_text"]
    edits = [e for e in fake.edits if e["message_id"] == sent[0]["message_id"]]
    assert len(edits) == 4  # one per later report, each listing what was known
    final = parse_html(edits[-1]["text"])[0]
    assert "Reuters · " in final  # the first report's own source line
    assert "📰 +4 sources: BBC News, Al Jazeera, The Guardian, NPR" in final
    assert edits[-1]["reply_markup"]["inline_keyboard"][0][0]["text"] == "👍"  # buttons kept
    # The alert now tells the story with its fullest report, and says whose it is.
    assert "formed in 2014" not in sent[0]["plain_text"]
    assert "formed in 2014" in final and "(The Guardian)" in final


async def test_a_story_whose_reports_arrive_before_its_alert_went_out_is_one_message(
    tmp_path: Path, fake: FakeBotAPI, virtual: VirtualTime
) -> None:
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        pipeline = _pipeline(
            tmp_path, bot, virtual=virtual, clock=lambda: T_EVENT + timedelta(hours=1)
        )
        pipeline.store.upsert_chat(1, "private", "", T_EVENT)
        pipeline.store.subscribe(1, "isis", T_EVENT)
        for n, report in enumerate(SAME_EVENT):
            pipeline.ingest([_report(n, *report)])
        report = await pipeline.deliver_pending()
    assert report.sent == 1 and report.merged == 4 and fake.edits == []
    [alert] = fake.messages_to(1)
    assert "📰 +4 sources: BBC News, Al Jazeera, The Guardian, NPR" in alert["plain_text"]


NEWS_FOR_THE_STORY = (
    "AP",
    "US and Iraq agree to end anti-ISIS coalition mission by September 2025; 2,500 US troops "
    "to leave",
    "The United States and Iraq agreed the US-led coalition mission against ISIS in Iraq will "
    "end by September 2025, and the 2,500 US troops in Iraq will leave, Pentagon officials said.",
)


async def test_a_report_with_new_facts_is_a_new_alert_and_a_muted_story_is_silent(
    tmp_path: Path, fake: FakeBotAPI, virtual: VirtualTime
) -> None:
    now = [T_EVENT]
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        pipeline = _pipeline(tmp_path, bot, virtual=virtual, clock=lambda: now[0])
        for chat in (1, 2):
            pipeline.store.upsert_chat(chat, "private", "", now[0])
            pipeline.store.subscribe(chat, "isis", now[0])
        pipeline.ingest([_report(0, *SAME_EVENT[0])])
        await pipeline.deliver_pending()
        story = pipeline.store.item_story(1)
        assert story is not None
        pipeline.store.mute(2, f"story:{story[0]}", now[0] + timedelta(hours=24))
        now[0] += timedelta(minutes=30)
        pipeline.ingest([_report(1, *NEWS_FOR_THE_STORY)])  # a number and a name it lacked
        await pipeline.deliver_pending()
        pipeline.ingest([_report(2, *SAME_EVENT[1])])  # nothing new: an update
        await pipeline.deliver_pending()
    first, second = fake.messages_to(1)
    assert "2,500" not in first["plain_text"]
    assert "2,500 US troops" in second["plain_text"]
    assert "📰 +1 source: Reuters" in second["plain_text"]
    [edit] = fake.edits
    assert edit["message_id"] == second["message_id"]  # the latest alert of the story
    assert "📰 +2 sources: Reuters, BBC News" in parse_html(edit["text"])[0]
    assert len(fake.messages_to(2)) == 1  # muted: neither the new alert nor an edit


async def test_several_updates_waiting_for_one_alert_make_one_edit(
    tmp_path: Path, fake: FakeBotAPI, virtual: VirtualTime
) -> None:
    now = [T_EVENT]
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        pipeline = _pipeline(tmp_path, bot, virtual=virtual, clock=lambda: now[0])
        pipeline.store.upsert_chat(1, "private", "", now[0])
        pipeline.store.subscribe(1, "isis", now[0])
        pipeline.ingest([_report(0, *SAME_EVENT[0])])
        await pipeline.deliver_pending()
        for n, report in enumerate(SAME_EVENT[1:], start=1):  # they pile up (e.g. a 429)
            now[0] = T_EVENT + timedelta(minutes=n)
            pipeline.ingest([_report(n, *report)])
        delivered = await pipeline.deliver_pending()
    assert delivered.edited == 1
    [edit] = fake.edits
    assert "📰 +4 sources: BBC News, Al Jazeera, The Guardian, NPR" in parse_html(edit["text"])[0]


async def test_a_story_update_never_rewrites_a_while_you_were_away_digest(
    tmp_path: Path, fake: FakeBotAPI, virtual: VirtualTime
) -> None:
    now = [T_EVENT]
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        pipeline = _pipeline(tmp_path, bot, virtual=virtual, clock=lambda: now[0])
        pipeline.catch_up_after = 2
        pipeline.store.upsert_chat(1, "private", "", now[0])
        pipeline.store.subscribe(1, "isis", now[0])
        pipeline.ingest([_report(0, *SAME_EVENT[0])])
        pipeline.ingest([_report(9, *SIMILAR_WORDS)])
        now[0] += timedelta(hours=1)  # an outage: both arrive as one digest
        await pipeline.deliver_pending()
        [digest] = fake.messages_to(1)
        assert digest["plain_text"].startswith("⏳ While you were away: 2 stories")
        pipeline.ingest([_report(1, *SAME_EVENT[1])])
        await pipeline.deliver_pending()
    assert fake.edits == []  # the digest stays as it was


def test_after_waiting_the_time_the_pacer_asked_a_message_may_go() -> None:
    """Rounding must not leave a wait too small to pass: on a virtual clock at 1000 s, a
    wait of 1e-16 s would never end."""
    pacer = Pacer(Rates(overall=30.0, private=1.0, group=20 / 60))
    now = 1000.0
    for n in range(200):
        chat = n % 7
        wait = pacer.wait(chat, "private", now)
        now += wait
        assert pacer.wait(chat, "private", now) == 0.0, (n, wait)
        pacer.record(chat, "private", now)
