"""The Telegram bot end to end: the real python-telegram-bot Application against the fake Bot API.

Feeds come from a server on 127.0.0.1; storage is SQLite in a temporary folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from bot.service import run_service
from tests.factories import rss, write_config
from tests.fakebotapi import FakeBotAPI, parse_html, utf16_len
from tests.feedserver import FeedServer, Route

USER = 42  # an admin (see the config below)
OTHER = 77  # not an admin
ISIS_TITLE = "ISIS claims attack on checkpoint in Syria"
QUIET = {"title": "Local football club wins the cup", "link": "https://ex.org/cup", "guid": "cup"}
ISIS = {
    "title": ISIS_TITLE,
    "link": "https://ex.org/isis?utm_source=rss",
    "guid": "isis-1",
    "description": "The Islamic State group said its fighters attacked a checkpoint "
    "& killed <3> soldiers.",
}


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as server:
        yield server


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        server.routes["/feed.xml"] = Route(rss([QUIET]))
        yield server


@pytest.fixture
def settings(tmp_path: Path, fake: FakeBotAPI, feeds: FeedServer) -> Settings:
    docs = tmp_path / "docs"
    docs.mkdir()
    path = write_config(tmp_path, feeds=[feeds.url("/feed.xml")], admins=[USER], documents=docs)
    env = {"TELEGRAM_BOT_TOKEN": fake.token, "NEWSBOT_TELEGRAM_API_URL": fake.base_url}
    return load_settings(path, env)


@contextlib.asynccontextmanager
async def running(settings: Settings, fake: FakeBotAPI) -> AsyncIterator[None]:
    """The service running in this event loop until the block ends."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_service(settings, stop))
    try:
        await wait_until(lambda: bool(fake.calls_to("getUpdates")) or task.done())
        if task.done():
            task.result()
        # The scheduler polls every feed once at start-up: let that happen before the test
        # changes a feed, so the test's own /poll is the one that sees the change.
        await wait_until(lambda: polled_feeds(settings) >= len(settings.feeds))
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def say(fake: FakeBotAPI, chat: int, text: str, replies: int = 1) -> list[dict[str, Any]]:
    """Send ``text`` as the user and wait for ``replies`` more messages to that chat."""
    before = len(fake.messages_to(chat))
    fake.send_user_message(chat, text)
    return (await asyncio.to_thread(fake.wait_for_messages, chat, before + replies))[before:]


def polled_feeds(settings: Settings) -> int:
    return _count(settings, "SELECT COUNT(*) FROM feeds WHERE last_checked_at IS NOT NULL")


def stored_items(settings: Settings) -> int:
    return _count(settings, "SELECT COUNT(*) FROM items")


def _count(settings: Settings, sql: str) -> int:
    if not settings.database_path.exists():
        return 0
    db = sqlite3.connect(f"file:{settings.database_path}?mode=ro", uri=True)
    try:
        return int(db.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0
    finally:
        db.close()


def alerts(fake: FakeBotAPI, chat: int) -> list[dict[str, Any]]:
    return [m for m in fake.messages_to(chat) if m["text"].startswith("🔔")]


async def test_subscribe_then_one_alert_and_none_after_restart(
    settings: Settings, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    async with running(settings, fake):
        assert [c["command"] for c in fake.my_commands][:3] == ["start", "topics", "subscribe"]
        [welcome] = await say(fake, USER, "/start")
        assert "isis" in welcome["text"] and welcome["reply_markup"]["inline_keyboard"]
        [ok] = await say(fake, USER, "/subscribe isis")
        assert "Subscribed to <b>ISIS</b>" in ok["text"]
        feeds.routes["/feed.xml"] = Route(rss([QUIET, ISIS]))
        replies = await say(fake, USER, "/poll", replies=3)  # "Polling…", the alert, the report
        [alert] = alerts(fake, USER)
        assert ISIS_TITLE in alert["text"] and "football" not in alert["text"]
        assert "Why ISIS" in alert["plain_text"]
        # the feed's own link (the canonical form, without utm_source, is the dedup key's)
        assert 'href="https://ex.org/isis?utm_source=rss"' in alert["text"]
        assert "&amp; killed &lt;3&gt; soldiers" in alert["text"]  # feed text escaped
        parse_html(alert["text"])
        assert utf16_len(alert["plain_text"]) <= 4096
        assert "1 alert queued, 1 sent" in replies[-1]["text"]
    async with running(settings, fake):
        await say(fake, USER, "/poll", replies=2)
        await asyncio.sleep(0.5)
        assert len(alerts(fake, USER)) == 1


async def test_topics_keyboard_toggles_subscriptions(settings: Settings, fake: FakeBotAPI) -> None:
    async with running(settings, fake):
        [menu] = await say(fake, USER, "/topics")
        buttons = [b for row in menu["reply_markup"]["inline_keyboard"] for b in row]
        isis = next(b for b in buttons if b["callback_data"] == "t:isis")
        assert isis["text"].startswith("➕")
        fake.press_button(USER, menu["message_id"], "t:isis")
        await asyncio.to_thread(fake.wait_for_calls, "editMessageReplyMarkup", 1)
        edited = fake.edits[-1]["reply_markup"]["inline_keyboard"]
        assert any(
            b["text"].startswith("✅") and b["callback_data"] == "t:isis" for r in edited for b in r
        )
        [mine] = await say(fake, USER, "/mytopics")
        assert "ISIS" in mine["text"]
        fake.press_button(USER, menu["message_id"], "t:isis")
        await asyncio.to_thread(fake.wait_for_calls, "editMessageReplyMarkup", 2)
        [mine] = await say(fake, USER, "/mytopics")
        assert "no topics" in mine["text"]
        assert len(fake.answered_callbacks) == 2


async def test_unknown_topic_and_unsubscribe(settings: Settings, fake: FakeBotAPI) -> None:
    async with running(settings, fake):
        [reply] = await say(fake, USER, "/subscribe nonsense")
        assert "Unknown topic" in reply["text"] and "troop-withdrawal" in reply["text"]
        await say(fake, USER, "/subscribe isis troop-withdrawal")
        [reply] = await say(fake, USER, "/unsubscribe isis")
        assert "Unsubscribed from <b>ISIS</b>" in reply["text"]
        [mine] = await say(fake, USER, "/mytopics")
        assert "Troop withdrawal" in mine["text"] and "ISIS" not in mine["text"]


async def test_poll_is_for_admins_only(
    settings: Settings, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    async with running(settings, fake):
        await wait_until(lambda: feeds.count("/feed.xml") >= 1)  # the start-up poll
        before = feeds.count("/feed.xml")
        [reply] = await say(fake, OTHER, "/poll")
        assert "admins" in reply["text"]
        await asyncio.sleep(0.3)
        assert feeds.count("/feed.xml") == before


async def test_latest_and_digest(settings: Settings, fake: FakeBotAPI, feeds: FeedServer) -> None:
    feeds.routes["/feed.xml"] = Route(rss([QUIET, ISIS]))
    async with running(settings, fake):
        await wait_until(lambda: stored_items(settings) == 2)  # the start-up poll
        await say(fake, USER, "/subscribe isis")
        replies = await say(fake, USER, "/poll", replies=2)
        assert "0 new items" in replies[-1]["text"]  # matched before the subscription: no alert
        [latest] = await say(fake, USER, "/latest isis")
        assert ISIS_TITLE in latest["text"]
        [digest] = await say(fake, USER, "/digest")
        assert "Nothing new" in digest["text"]  # matched before the subscription
        [empty] = await say(fake, USER, "/latest troop-withdrawal")
        assert "No matches yet" in empty["text"]


async def test_blocked_user_is_deactivated_and_gets_nothing_more(
    settings: Settings, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    async with running(settings, fake):
        await say(fake, OTHER, "/subscribe isis")
        fake.block_chat(OTHER)
        feeds.routes["/feed.xml"] = Route(rss([QUIET, ISIS]))
        await say(fake, USER, "/poll", replies=2)
        rejected = [
            c
            for m, c in fake.calls
            if m == "sendMessage" and c.get("chat_id") in (OTHER, str(OTHER))
        ]
        assert len(rejected) == 2  # the subscribe reply (accepted before blocking) and the alert
        assert alerts(fake, OTHER) == []


async def test_retry_after_is_honoured(
    settings: Settings, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    async with running(settings, fake):
        await say(fake, OTHER, "/subscribe isis")
        fake.fail_next(1, retry_after=1, chat_id=OTHER)
        feeds.routes["/feed.xml"] = Route(rss([QUIET, ISIS]))
        await say(fake, USER, "/poll", replies=2)
        # The retry job (every second in this config) sends it once retry_after has passed.
        await asyncio.to_thread(fake.wait_for_messages, OTHER, 2, 10.0)
        assert len(alerts(fake, OTHER)) == 1
        rejected = [
            c for m, c in fake.calls if m == "sendMessage" and str(c.get("chat_id")) == str(OTHER)
        ]
        assert len(rejected) == 3  # the subscribe reply, the alert refused with 429, the retry


def test_token_never_reaches_the_logs(tmp_path: Path, fake: FakeBotAPI, feeds: FeedServer) -> None:
    """``newsbot run`` as a process: SIGTERM ends it cleanly; its output never shows the token."""
    import signal
    import subprocess
    import sys
    import time

    docs = tmp_path / "docs"
    docs.mkdir()
    config = write_config(tmp_path, feeds=[feeds.url("/feed.xml")], admins=[USER], documents=docs)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(TELEGRAM_BOT_TOKEN=fake.token, NEWSBOT_TELEGRAM_API_URL=fake.base_url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "-vv", "--config", str(config), "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        fake.wait_for_calls("getUpdates", 1, timeout=20)
        fake.send_user_message(USER, "/subscribe isis")
        fake.wait_for_messages(USER, 1, timeout=10)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output[-2000:]
    assert (
        "getUpdates" in output or "HTTP Request" in output or "sendMessage" in output
    )  # DEBUG logs were on
    secret = fake.token.split(":", 1)[1]
    assert fake.token not in output and secret not in output


def test_rejected_token_is_a_clear_error_without_the_token(
    tmp_path: Path,
    fake: FakeBotAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    config = write_config(tmp_path)
    wrong = "999999:WRONG-token-abcdefghijklmnopqrstuvwxyz"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", wrong)
    monkeypatch.setenv("NEWSBOT_TELEGRAM_API_URL", fake.base_url)
    code = main(["--config", str(config), "run"])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert code == 2
    assert "Telegram rejected the bot token" in output and "TELEGRAM_BOT_TOKEN" in output
    assert wrong not in output and wrong.split(":")[1] not in output


async def test_unreachable_bot_api_does_not_stop_the_service(
    tmp_path: Path, feeds: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    docs = tmp_path / "docs"
    docs.mkdir()
    path = write_config(tmp_path, feeds=[feeds.url("/feed.xml")], documents=docs)
    env = {
        "TELEGRAM_BOT_TOKEN": "123:abcdefghijk",
        "NEWSBOT_TELEGRAM_API_URL": f"http://127.0.0.1:{port}/bot",
    }
    settings = load_settings(path, env)
    stop = asyncio.Event()
    task = asyncio.create_task(run_service(settings, stop))
    await wait_until(lambda: stored_items(settings) == 1 or task.done())  # feeds are still polled
    assert not task.done()
    await wait_until(lambda: "cannot reach the Telegram Bot API" in caplog.text)
    stop.set()
    await asyncio.wait_for(task, 10)


async def test_watch_test_why_and_unwatch(
    settings: Settings, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    async with running(settings, fake):
        await wait_until(lambda: stored_items(settings) == 1)  # the start-up poll: one quiet item
        [bad] = await say(fake, USER, "/watch sahel (French OR France NEAR/5 troops")
        assert "missing )" in bad["text"] and "<pre>" in bad["text"] and "Expected" in bad["text"]
        [made] = await say(fake, USER, '/watch checkpoint "checkpoint attack" OR checkpoint')
        assert "Watching <b>checkpoint</b>" in made["text"] and "0 of the 1 items" in made["text"]
        [listed] = await say(fake, USER, "/watches")
        assert "checkpoint" in listed["text"]
        [tested] = await say(fake, USER, "/test football OR cup")
        assert "matches 1 of 1 items" in tested["text"] and "football club" in tested["text"]
        [bad_test] = await say(fake, USER, "/test troops AND")
        assert "query ends too early" in bad_test["text"]
        feeds.routes["/feed.xml"] = Route(rss([QUIET, ISIS]))
        await say(fake, USER, "/poll", replies=3)
        [alert] = alerts(fake, USER)
        assert "👁 checkpoint" in alert["text"]
        before = len(fake.messages_to(USER))
        fake.send_user_message(USER, "/why", reply_to_message_id=alert["message_id"])
        [why] = (await asyncio.to_thread(fake.wait_for_messages, USER, before + 1))[before:]
        assert "Why “ISIS claims attack" in why["text"]
        assert "“checkpoint” in title" in why["plain_text"]
        [gone] = await say(fake, USER, "/unwatch checkpoint")
        assert "Stopped watching" in gone["text"]
        [none] = await say(fake, USER, "/watches")
        assert "No watches" in none["text"]


async def test_why_without_a_reply_explains_how(settings: Settings, fake: FakeBotAPI) -> None:
    async with running(settings, fake):
        [reply] = await say(fake, USER, "/why")
        assert "Reply" in reply["text"]


async def test_watch_limits_are_enforced(
    tmp_path: Path, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    path = write_config(
        tmp_path,
        feeds=[feeds.url("/feed.xml")],
        documents=docs,
        extra="[watches]\nper_chat = 1\nquery_chars = 40",
    )
    env = {"TELEGRAM_BOT_TOKEN": fake.token, "NEWSBOT_TELEGRAM_API_URL": fake.base_url}
    limited = load_settings(path, env)
    async with running(limited, fake):
        await say(fake, USER, "/watch one iraq")
        [second] = await say(fake, USER, "/watch two syria")
        assert "the most allowed" in second["text"]
        [long] = await say(fake, USER, "/watch one " + "iraq OR " * 10 + "syria")
        assert "at most 40 characters" in long["text"]
        [regex] = await say(fake, USER, "/watch one /ira+q/")
        assert "regular expressions are not allowed" in regex["text"]


async def test_in_a_group_only_admins_change_subscriptions(
    settings: Settings, fake: FakeBotAPI
) -> None:
    group, admin, member = -1001, 501, 502
    fake.add_admin(group, admin)

    async def group_says(user: int, text: str) -> dict[str, Any]:
        before = len(fake.messages_to(group))
        fake.send_user_message(group, text, user_id=user, chat_type="supergroup")
        return (await asyncio.to_thread(fake.wait_for_messages, group, before + 1))[before]

    async with running(settings, fake):
        refused = await group_says(member, "/subscribe isis")
        assert "Only the group's admins" in refused["text"]
        accepted = await group_says(admin, "/subscribe isis")
        assert "Subscribed to <b>ISIS</b>" in accepted["text"]
        refused = await group_says(member, "/watch x iraq")
        assert "Only the group's admins" in refused["text"]
        mine = await group_says(member, "/mytopics")  # reading is for everyone
        assert "ISIS" in mine["text"]


async def test_operator_stats_and_feeds(
    settings: Settings, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    feeds.routes["/feed.xml"] = Route(b"down", status=503)
    async with running(settings, fake):
        [refused] = await say(fake, OTHER, "/stats")
        assert "for the bot's admins" in refused["text"]
        await wait_until(lambda: feeds.count("/feed.xml") >= 1)
        await asyncio.sleep(0.2)
        [stats] = await say(fake, USER, "/stats")
        assert "Feeds: 0 ok, 1 failing (0 down), 0 retired (of 1)" in stats["text"]
        [health] = await say(fake, USER, "/feeds")
        assert "feed.xml: failing ×1 (http5xx)" in health["text"]
        assert "last error: HTTP 503" in health["text"] and "next poll:" in health["text"]


async def test_alert_buttons_feedback_mute_and_more(
    settings: Settings, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    async with running(settings, fake):
        await wait_until(lambda: stored_items(settings) == 1)  # the start-up poll is done
        await say(fake, USER, "/subscribe isis")
        feeds.routes["/feed.xml"] = Route(rss([QUIET, ISIS]))
        await say(fake, USER, "/poll", replies=3)
        [alert] = alerts(fake, USER)
        buttons = [b for row in alert["reply_markup"]["inline_keyboard"] for b in row]
        assert [b["text"] for b in buttons] == [
            "👍",
            "👎",
            "🔕 Story 24h",
            "🔕 Topic 24h",
            "➕ More like this",
        ]
        fake.press_button(USER, alert["message_id"], buttons[0]["callback_data"])
        await asyncio.to_thread(fake.wait_for_calls, "answerCallbackQuery", 1)
        [stats] = await say(fake, USER, "/stats")
        assert "1 👍, 0 👎" in stats["text"]
        before = len(fake.messages_to(USER))
        fake.press_button(USER, alert["message_id"], buttons[4]["callback_data"])
        [latest] = (await asyncio.to_thread(fake.wait_for_messages, USER, before + 1))[before:]
        assert "Latest: ISIS" in latest["text"] and ISIS_TITLE in latest["text"]
        fake.press_button(USER, alert["message_id"], buttons[2]["callback_data"])
        await asyncio.to_thread(fake.wait_for_calls, "answerCallbackQuery", 3)
        assert any("story is muted until" in a.get("text", "") for a in fake.answered_callbacks)
        fake.press_button(USER, alert["message_id"], buttons[3]["callback_data"])
        await asyncio.to_thread(fake.wait_for_calls, "answerCallbackQuery", 4)
        assert any("ISIS muted until" in a.get("text", "") for a in fake.answered_callbacks)
        second = dict(ISIS, guid="isis-2", link="https://ex.org/isis-2", title="ISIS fighters seen")
        feeds.routes["/feed.xml"] = Route(rss([QUIET, ISIS, second]))
        replies = await say(fake, USER, "/poll", replies=2)
        assert "1 new item, 0 alerts queued" in replies[-1]["text"]  # muted: no alert
        assert len(alerts(fake, USER)) == 1


async def test_settings_timezone_digest_time_mode_and_previews(
    settings: Settings, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    async with running(settings, fake):
        await wait_until(lambda: stored_items(settings) == 1)  # the start-up poll is done
        await say(fake, USER, "/subscribe isis")
        [bad] = await say(fake, USER, "/timezone Mars/Olympus")
        assert "IANA timezone" in bad["text"]
        [tz] = await say(fake, USER, "/timezone Asia/Tokyo")
        assert "Asia/Tokyo" in tz["text"]
        [at] = await say(fake, USER, "/digesttime 7:30")
        assert "07:30" in at["text"]
        [view] = await say(fake, USER, "/settings")
        assert "Asia/Tokyo" in view["text"] and "07:30" in view["text"]
        buttons = [b for row in view["reply_markup"]["inline_keyboard"] for b in row]
        assert [b["text"] for b in buttons] == [
            "Previews: off",
            "🌙 Quiet: off",
            "ISIS: both",
            "normal",
        ]
        fake.press_button(USER, view["message_id"], "set:mode:isis")  # both -> instant
        await asyncio.to_thread(fake.wait_for_calls, "editMessageReplyMarkup", 1)
        edited = [b["text"] for r in fake.edits[-1]["reply_markup"]["inline_keyboard"] for b in r]
        assert "ISIS: instant" in edited
        await say(fake, USER, "/previews on")
        feeds.routes["/feed.xml"] = Route(rss([QUIET, ISIS]))
        await say(fake, USER, "/poll", replies=3)
        [alert] = alerts(fake, USER)
        assert "JST" in alert["plain_text"]  # the time in the chat's timezone
        assert alert["link_preview_options"]["is_disabled"] is False
        [mode] = await say(fake, USER, "/mode isis digest")
        assert "<b>ISIS</b>: digest" in mode["text"]


IRAQ = {"title": "Iraq parliament approves the budget", "link": "https://ex.org/iq", "guid": "iq"}


async def test_quiet_hours_hold_alerts_except_urgent_topics_and_release_them_after(
    settings: Settings, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    now = datetime.now(UTC)
    window = f"{(now - timedelta(hours=1)):%H:%M}-{(now + timedelta(hours=1)):%H:%M}"
    async with running(settings, fake):
        await say(fake, USER, "/subscribe isis")
        await say(fake, USER, "/subscribe iraq")
        [urgent] = await say(fake, USER, "/urgent isis")
        assert "urgent" in urgent["text"]
        [quiet] = await say(fake, USER, f"/quiet {window}")
        assert "Quiet hours" in quiet["text"]
        feeds.routes["/feed.xml"] = Route(rss([QUIET, ISIS, IRAQ]))
        replies = await say(fake, USER, "/poll", replies=3)  # Polling…, the alert, the report
        assert "2 alerts queued" in replies[-1]["text"]
        await asyncio.sleep(1.0)  # the other alert would have gone by now
        assert [ISIS_TITLE in a["text"] for a in alerts(fake, USER)] == [True]
        [view] = await say(fake, USER, "/settings")
        buttons = [b["text"] for row in view["reply_markup"]["inline_keyboard"] for b in row]
        assert f"🌙 Quiet: {window.replace('-', '–')}" in buttons and "⚡ urgent" in buttons
        await say(fake, USER, "/quiet off", replies=2)  # the reply and the held alert
        held = alerts(fake, USER)
        assert len(held) == 2 and "Iraq parliament" in held[1]["text"]
        # The button turns the default quiet hours (22:00–07:00) on again.
        fake.press_button(USER, view["message_id"], "set:quiet")
        await asyncio.to_thread(fake.wait_for_calls, "editMessageReplyMarkup", 1)
        edited = [b["text"] for r in fake.edits[-1]["reply_markup"]["inline_keyboard"] for b in r]
        assert "🌙 Quiet: 22:00–07:00" in edited


async def test_mute_command_and_urgent_need_a_subscription(
    settings: Settings, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    async with running(settings, fake):
        [refused] = await say(fake, USER, "/urgent iraq")
        assert "Subscribe to <b>Iraq</b> first" in refused["text"]
        await say(fake, USER, "/subscribe isis")
        [muted] = await say(fake, USER, "/mute isis 2")
        assert "muted until" in muted["text"]
        [view] = await say(fake, USER, "/settings")
        assert "🔕 ISIS muted until" in view["text"]
        buttons = [b for row in view["reply_markup"]["inline_keyboard"] for b in row]
        assert "🔊 Unmute ISIS" in [b["text"] for b in buttons]
        feeds.routes["/feed.xml"] = Route(rss([QUIET, ISIS]))
        replies = await say(fake, USER, "/poll", replies=2)
        assert "0 alerts queued" in replies[-1]["text"]
        await say(fake, USER, "/unmute isis")
        second = dict(ISIS, guid="isis-2", link="https://ex.org/isis-2", title="ISIS fighters seen")
        feeds.routes["/feed.xml"] = Route(rss([QUIET, ISIS, second]))
        await say(fake, USER, "/poll", replies=3)
        assert [a["text"].count("ISIS fighters seen") > 0 for a in alerts(fake, USER)] == [True]


CHANNEL = -1002000


async def test_channel_routing_by_a_channel_admin_where_the_bot_may_post(
    settings: Settings, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    fake.add_channel(CHANNEL, "newsroom", admins=(USER,))
    fake.add_channel(-1002001, "nobot", admins=(USER,), bot_is_admin=False)
    async with running(settings, fake):
        [refused] = await say(fake, OTHER, "/channel @newsroom isis")
        assert "Only the channel's admins" in refused["text"]
        [no_rights] = await say(fake, USER, "/channel @nobot isis")
        assert "admin of the channel who may post" in no_rights["text"]
        [unknown] = await say(fake, USER, "/channel @nowhere isis")
        assert "cannot see @nowhere" in unknown["text"]
        [routed] = await say(fake, USER, "/channel @newsroom isis")
        assert "@newsroom gets alerts of: ISIS" in routed["text"]
        feeds.routes["/feed.xml"] = Route(rss([QUIET, ISIS]))
        await say(fake, USER, "/poll", replies=2)
        await asyncio.to_thread(fake.wait_for_messages, CHANNEL, 1)
        [alert] = alerts(fake, CHANNEL)
        assert ISIS_TITLE in alert["text"]
        assert alerts(fake, USER) == []  # routed to the channel, not to the admin's chat
        [off] = await say(fake, USER, "/channel @newsroom off")
        assert "no more alerts" in off["text"]


SUNNY = {"title": "A sunny weekend ahead", "link": "https://ex.org/sun", "guid": "sun"}


@pytest.fixture
def open_settings(tmp_path: Path, fake: FakeBotAPI, feeds: FeedServer) -> Settings:
    """Feeds added in chats may point at 127.0.0.1 (the test server); topics reload each second."""
    path = write_config(
        tmp_path,
        feeds=[feeds.url("/feed.xml")],
        admins=[USER],
        extra="allow_private_feeds = true\nreload_interval = 1\ntick = 1",
        telegram="admin_chat = -900",
    )
    env = {"TELEGRAM_BOT_TOKEN": fake.token, "NEWSBOT_TELEGRAM_API_URL": fake.base_url}
    return load_settings(path, env)


async def test_addfeed_polls_it_from_then_on_and_removefeed_stops(
    open_settings: Settings, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    settings = open_settings
    second = feeds.url("/second.xml")
    feeds.routes["/second.xml"] = Route(rss([SUNNY], title="Second feed"))
    feeds.routes["/page.html"] = Route(b"<html><body>not a feed</body></html>")
    async with running(settings, fake):
        [refused] = await say(fake, OTHER, f"/addfeed {second}")
        assert "for the bot's admins" in refused["text"]
        [bad] = await say(fake, USER, f"/addfeed {feeds.url('/page.html')}")
        assert "cannot read it as a feed" in bad["text"]
        [added] = await say(fake, USER, f"/addfeed {second}")
        assert "Added <b>Second feed</b>: 1 items read" in added["text"]
        [again] = await say(fake, USER, f"/addfeed {second}")
        assert "already polled" in again["text"]
        [health] = await say(fake, USER, "/feeds")
        assert "<b>Second feed [added]: ok</b>" in health["text"]
        # The scheduler polls the feed by itself once it is due: a new item arrives without
        # /poll. (Its next poll is minutes away: bring it forward, as time would.)
        feeds.routes["/second.xml"] = Route(rss([SUNNY, ISIS], title="Second feed"))
        db = sqlite3.connect(settings.database_path)
        db.execute("UPDATE feeds SET next_poll_at = '2000-01-01' WHERE url = ?", (second,))
        db.commit()
        db.close()
        await wait_until(lambda: stored_items(settings) == 3)
        [config_feed] = await say(fake, USER, f"/removefeed {feeds.url('/feed.xml')}")
        assert "in the config file" in config_feed["text"]
        [removed] = await say(fake, USER, f"/removefeed {second}")
        assert "no longer polled" in removed["text"]
        [health] = await say(fake, USER, "/feeds")
        assert "Second feed" not in health["text"]


async def test_addfeed_refuses_loopback_addresses_unless_the_config_allows(
    settings: Settings, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    feeds.routes["/second.xml"] = Route(rss([QUIET]))
    async with running(settings, fake):
        [refused] = await say(fake, USER, f"/addfeed {feeds.url('/second.xml')}")
    assert "loopback, private or link-local" in refused["text"]
    assert feeds.count("/second.xml") == 0  # refused before any request was sent


async def test_broadcast_reaches_every_chat_and_reports_go_to_the_admin_chat(
    open_settings: Settings, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    feeds.routes["/feed.xml"] = Route(b"down", status=503)
    async with running(open_settings, fake):
        await say(fake, OTHER, "/start")
        [refused] = await say(fake, OTHER, "/broadcast hi all")
        assert "for the bot's admins" in refused["text"]
        [queued] = await say(fake, USER, "/broadcast Maintenance at 22:00 <UTC> & more")
        assert "Queued for 2 chats" in queued["text"]
        expected = "📣 Announcement\n\nMaintenance at 22:00 <UTC> & more"
        for chat in (USER, OTHER):
            await wait_until(
                lambda chat=chat: any(m["plain_text"] == expected for m in fake.messages_to(chat))
            )
        # After three failures in a row the feed is reported down, in the admin chat, not in
        # the admins' own chats.
        await say(fake, USER, "/poll", replies=2)
        await say(fake, USER, "/poll", replies=2)
        [report] = await asyncio.to_thread(fake.wait_for_messages, -900, 1)
        assert "is down: HTTP 503 (http5xx, 3 failures in a row)" in report["text"]
    assert not any("is down" in m["text"] for m in fake.messages_to(USER))


async def test_admins_export_feeds_as_opml_and_add_feeds_by_sending_one(
    settings: Settings, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    from bot.sources.opml import read_opml

    opml = (
        b'<?xml version="1.0"?><opml version="2.0"><head/><body>'
        b'<outline type="rss" text="Public" xmlUrl="https://news.example/rss.xml"/>'
        b'<outline type="rss" text="Mine" xmlUrl="' + feeds.url("/feed.xml").encode() + b'"/>'
        b"</body></opml>"
    )
    async with running(settings, fake):
        [refused] = await say(fake, OTHER, "/exportfeeds")
        assert "for the bot's admins" in refused["text"]
        before = len(fake.messages_to(USER))
        fake.send_user_document(USER, "mine.opml", opml)
        [imported] = (await asyncio.to_thread(fake.wait_for_messages, USER, before + 1))[before:]
        assert "1 feeds added, 1 already polled" in imported["text"]
        before = len(fake.messages_to(USER))
        fake.send_user_message(USER, "/exportfeeds")
        [export] = (await asyncio.to_thread(fake.wait_for_messages, USER, before + 1))[before:]
        assert export["document"]["filename"] == "newsbot-feeds.opml"
        listed = read_opml(export["document"]["content"], interval=300).feeds
        assert [f.url for f in listed] == [feeds.url("/feed.xml"), "https://news.example/rss.xml"]
        before = len(fake.messages_to(OTHER))
        fake.send_user_document(OTHER, "theirs.opml", opml)
        [no] = (await asyncio.to_thread(fake.wait_for_messages, OTHER, before + 1))[before:]
        assert "for the bot's admins" in no["text"]


async def test_a_costly_test_query_does_not_hold_up_another_chat(
    tmp_path: Path, fake: FakeBotAPI
) -> None:
    import threading
    import time

    from bot.storage.base import NewItem
    from bot.storage.sqlite import SQLiteStore
    from tests.factories import costly_query, long_items, short_words

    vocab = short_words(600)
    query = costly_query(vocab)
    assert len(query) >= 3500
    path = write_config(tmp_path, extra="[watches]\nquery_chars = 5000")
    env = {"TELEGRAM_BOT_TOKEN": fake.token, "NEWSBOT_TELEGRAM_API_URL": fake.base_url}
    roomy = load_settings(path, env)
    now = datetime.now(UTC)
    store = SQLiteStore(roomy.database_path)
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
    made = long_items(vocab, weights, 1000, 1500, now=now)
    store.add_items([NewItem(item, "", ()) for item in made], now)
    store.close()

    def drive() -> tuple[float, float, float]:
        # A thread of its own: its clock runs even if the bot's event loop is blocked.
        a_sent = time.monotonic()
        fake.send_user_message(USER, "/test " + query)
        a_at: list[float] = []
        waiter = threading.Thread(
            target=lambda: a_at.append((fake.wait_for_messages(USER, 1, 60), time.monotonic())[1])
        )
        waiter.start()
        time.sleep(0.5)  # B writes while A's query runs
        b_sent = time.monotonic()
        fake.send_user_message(OTHER, "/help")
        fake.wait_for_messages(OTHER, 1, 60)
        b_at = time.monotonic()
        waiter.join()
        return a_at[0] - a_sent, b_at - b_sent, a_at[0] - b_at

    async with running(roomy, fake):
        a_wall, b_wait, a_after_b = await asyncio.to_thread(drive)
    [answer] = fake.messages_to(USER)
    assert "too costly" in answer["text"] and "narrow it" in answer["text"]
    assert b_wait < 1.0, f"B waited {b_wait:.2f} s"
    assert a_after_b > 0  # A's query was still running when B was answered
    assert a_wall < roomy.watches.test_seconds + 2.0


async def test_a_long_test_query_is_refused_like_a_watch(
    settings: Settings, fake: FakeBotAPI
) -> None:
    from tests.factories import costly_query, short_words

    async with running(settings, fake):
        [tested] = await say(fake, USER, "/test " + costly_query(short_words(600)))
        assert "at most 300 characters" in tested["text"]
        [regex] = await say(fake, USER, "/test /ira+q/")
        assert "regular expressions are not allowed" in regex["text"]


async def test_a_learned_layer_alert_says_why_in_the_alert_and_in_why(
    tmp_path: Path, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    """A topic whose query misses an item its model finds: the alert and /why show the
    model's score, its threshold and the words that weighed most."""
    from tests.test_learn import examples

    rows = [
        {"title": e.title, "description": e.description, "label": int(e.positive)}
        for e in examples()
    ]
    (tmp_path / "leaving.jsonl").write_text(
        "\n".join(json.dumps(r) for r in rows), encoding="utf-8"
    )
    topics = tmp_path / "topics.toml"
    topics.write_text(
        '[[topics]]\nid = "leaving"\nname = "Leaving"\nquery = "withdraw*"\n'
        'examples_file = "leaving.jsonl"\n',
        encoding="utf-8",
    )
    path = write_config(tmp_path, feeds=[feeds.url("/feed.xml")], admins=[USER], topics=topics)
    env = {"TELEGRAM_BOT_TOKEN": fake.token, "NEWSBOT_TELEGRAM_API_URL": fake.base_url}
    settings = load_settings(path, env)
    home = {
        "title": "UN peacekeepers head home from Gao",
        "link": "https://ex.org/gao",
        "guid": "gao",
        "description": "The deployment in Gao ends this year.",
    }
    async with running(settings, fake):
        await say(fake, USER, "/subscribe leaving")
        feeds.routes["/feed.xml"] = Route(rss([QUIET, home]))
        await say(fake, USER, "/poll", replies=3)
        [alert] = alerts(fake, USER)
        assert "UN peacekeepers head home" in alert["text"]
        assert "Why Leaving: model 0." in alert["plain_text"] and " ≥ 0." in alert["plain_text"]
        before = len(fake.messages_to(USER))
        fake.send_user_message(USER, "/why", reply_to_message_id=alert["message_id"])
        [why] = (await asyncio.to_thread(fake.wait_for_messages, USER, before + 1))[before:]
        assert "the learned layer did" in why["plain_text"] and "threshold 0." in why["plain_text"]
        assert " in model: " in why["plain_text"]
    assert (settings.model_dir / "leaving.model.json").exists()
