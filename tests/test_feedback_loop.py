"""The feedback loop end to end: the real python-telegram-bot against the fake Bot API, the
service polling a local feed. Three 👎 on one kind of false alarm stop that kind for the chat
that voted, while another chat still gets it; /settings lets it in again."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from tests.factories import rss, write_config
from tests.fakebotapi import FakeBotAPI
from tests.feedserver import FeedServer, Route
from tests.test_telegram import OTHER, USER, alerts, fake, feeds, running, say, wait_until

__all__ = ["fake", "feeds"]  # the fixtures, shared with test_telegram

TOPICS = '[[topics]]\nid = "isis"\nname = "ISIS"\nquery = "ISIS OR Daesh"\n'


def entry(guid: str, title: str) -> dict[str, str]:
    return {"title": title, "link": f"https://ex.org/{guid}", "guid": guid}


GODDESS = [
    entry("g1", "Isis, the goddess, returns to the British Museum"),
    entry("g2", "A temple of Isis restored on the Nile"),
    entry("g3", "Isis and Osiris: an opera revived"),
]


@pytest.fixture
def settings(tmp_path: Path, fake: FakeBotAPI, feeds: FeedServer) -> Settings:
    topics = tmp_path / "topics.toml"
    topics.write_text(TOPICS, encoding="utf-8")
    path = write_config(tmp_path, feeds=[feeds.url("/feed.xml")], admins=[USER], topics=topics)
    env = {"TELEGRAM_BOT_TOKEN": fake.token, "NEWSBOT_TELEGRAM_API_URL": fake.base_url}
    return load_settings(path, env)


def buttons(message: dict[str, Any]) -> dict[str, str]:
    rows = message["reply_markup"]["inline_keyboard"]
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def poll(fake: FakeBotAPI, feeds: FeedServer, entries: list[dict[str, str]]) -> str:
    """The feed now lists ``entries``; USER's /poll, and its closing report."""
    feeds.routes["/feed.xml"] = Route(rss(entries))
    before = len(fake.messages_to(USER))
    fake.send_user_message(USER, "/poll")

    def reported() -> bool:
        return any("new item" in m["text"] for m in fake.messages_to(USER)[before:])

    await wait_until(reported)
    return next(m["text"] for m in fake.messages_to(USER)[before:] if "new item" in m["text"])


async def test_three_downvotes_stop_a_false_alarm_for_that_chat_only(
    settings: Settings, fake: FakeBotAPI, feeds: FeedServer
) -> None:
    async with running(settings, fake):
        await say(fake, USER, "/subscribe isis")
        await say(fake, OTHER, "/subscribe isis")
        assert "3 new items, 6 alerts queued" in await poll(fake, feeds, GODDESS)
        await wait_until(lambda: len(alerts(fake, USER)) == 3 and len(alerts(fake, OTHER)) == 3)
        for number, alert in enumerate(alerts(fake, USER), start=1):
            fake.press_button(USER, alert["message_id"], buttons(alert)["👎"])
            await asyncio.to_thread(fake.wait_for_calls, "answerCallbackQuery", number)
        assert [a["text"] for a in fake.answered_callbacks] == ["Thanks: noted 👎"] * 3

        def notice() -> list[dict[str, Any]]:
            return [m for m in fake.messages_to(USER) if "no longer reach" in m["text"]]

        await wait_until(lambda: bool(notice()))
        assert "<b>ISIS</b> that match on “isis”" in notice()[0]["text"]
        assert "Other chats still get them" in notice()[0]["text"]

        statue = entry("g4", "Statue of Isis found in Alexandria harbour")
        daesh = entry("d1", "Daesh fighters attack an army convoy")
        report = await poll(fake, feeds, [*GODDESS, statue, daesh])
        assert "2 new items, 3 alerts queued" in report  # OTHER both, USER the Daesh one
        await wait_until(lambda: len(alerts(fake, OTHER)) == 5 and len(alerts(fake, USER)) == 4)
        assert "Statue of Isis" in alerts(fake, OTHER)[-2]["text"] + alerts(fake, OTHER)[-1]["text"]
        assert "Daesh fighters" in alerts(fake, USER)[-1]["text"]
        assert not any("Statue of Isis" in a["text"] for a in alerts(fake, USER))

        [view] = await say(fake, USER, "/settings")
        assert "🚫 ISIS: alerts that match on “isis”" in view["text"]
        [allow] = [data for text, data in buttons(view).items() if text.startswith("✅ Allow")]
        fake.press_button(USER, view["message_id"], allow)
        await asyncio.to_thread(fake.wait_for_calls, "answerCallbackQuery", 4)
        assert fake.answered_callbacks[-1]["text"] == "Saved"
        sphinx = entry("g5", "Isis and the sphinx: a new documentary")
        report = await poll(fake, feeds, [*GODDESS, statue, daesh, sphinx])
        assert "1 new item, 2 alerts queued" in report  # let in again
