"""The chat-settings service (bot/services/settings.py) over the in-memory store."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.chats import Zones
from bot.services.settings import MAX_MUTE_HOURS, ChatSettings
from bot.storage.base import NewItem
from bot.storage.memory import MemoryStore
from tests.factories import T0, item, match


@pytest.fixture
def chats() -> ChatSettings:
    service = ChatSettings(MemoryStore(), Zones(ZoneInfo("UTC")), lambda: T0)
    service.register(1, "private", "me")
    return service


def test_modes_cycle_and_urgency_flips_only_for_followed_topics(chats: ChatSettings) -> None:
    assert chats.next_mode(1, "isis") is None  # not followed
    assert chats.subscribe(1, "isis") is True and chats.subscribe(1, "isis") is False
    assert [chats.next_mode(1, "isis") for _ in range(3)] == ["instant", "digest", "both"]
    assert chats.set_urgent(1, "isis") is True and chats.urgent_topics(1) == {"isis"}
    assert chats.set_urgent(1, "isis") is False
    assert chats.set_urgent(1, "isis", True) is True
    assert chats.set_urgent(1, "troops") is None


def test_mutes_are_bounded_and_shown_in_the_chats_time(chats: ChatSettings) -> None:
    with pytest.raises(ValueError, match="1 to 720"):
        chats.mute(1, "isis", MAX_MUTE_HOURS + 1)
    until = chats.mute(1, "isis", 8)
    assert until == T0 + timedelta(hours=8) and chats.mutes(1) == {"isis": until}
    chats.update(1, timezone="Asia/Tokyo")
    assert chats.local(1, until) == until.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%d %b %H:%M")
    assert chats.unmute(1, "isis") is True and chats.mutes(1) == {}


def test_a_story_is_muted_by_its_item(chats: ChatSettings) -> None:
    store = chats.store
    chats.subscribe(1, "isis")
    store.add_items([NewItem(replace(item("ISIS a"), story="s1"), "", (match("isis"),))], T0)
    [task] = store.pending(T0)
    title, until = chats.mute_story_of(1, task.item_ref)
    assert title == "ISIS a" and chats.mutes(1) == {"story:s1": until}
    with pytest.raises(LookupError):
        chats.mute_story_of(1, 999)


def test_quiet_hours_release_what_was_held(chats: ChatSettings) -> None:
    chats.set_quiet(1, ("22:00", "07:00"))
    chat = chats.chat(1)
    assert chat is not None and (chat.quiet_start, chat.quiet_end) == ("22:00", "07:00")
    chats.set_quiet(1, None)
    chat = chats.chat(1)
    assert chat is not None and chat.quiet_start is None
    chats.subscribe(1, "isis")
    chats.subscribe(1, "troops")
    chats.unsubscribe_all(1)
    assert chats.subscriptions(1) == set()
