"""The notifier contract: one suite, run against every channel's notifier.

Each test takes the ``channel`` fixture, parametrized over every implementation of
:class:`bot.notify.base.Notifier` with a receiver that shows what the chat got: Telegram (the
real python-telegram-bot against the fake Bot API on 127.0.0.1) and the console. A new
channel (issue 13's Apprise destinations) adds one entry to :data:`CHANNELS`. Each notifier is
held to what its :class:`~bot.notify.base.Capabilities` declare.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio

from bot.models import OutgoingMessage
from bot.notify.base import FORMATS, Notifier, Notifiers
from bot.notify.console import ConsoleNotifier
from bot.notify.telegram import TelegramNotifier
from bot.services.dispatch import fit, send_message
from tests.fakebotapi import FakeBotAPI
from tests.test_fakebotapi import make_bot

CHAT = 1001


@dataclass
class Channel:
    """A notifier and what its chat shows: each message's text, and its buttons' labels."""

    notifier: Notifier
    received: Callable[[], list[str]]
    buttons: Callable[[], list[list[str]]]


async def _telegram() -> AsyncIterator[Channel]:
    with FakeBotAPI() as server:
        async with make_bot(server) as bot:

            def buttons() -> list[list[str]]:
                return [
                    [
                        b["text"]
                        for row in m.get("reply_markup", {}).get("inline_keyboard", [])
                        for b in row
                    ]
                    for m in server.messages_to(CHAT)
                ]

            def received() -> list[str]:  # each message as it reads now, edits applied
                edited = {
                    e["message_id"]: e["plain_text"] for e in server.edits if "plain_text" in e
                }
                return [
                    edited.get(m["message_id"], m["plain_text"]) for m in server.messages_to(CHAT)
                ]

            yield Channel(TelegramNotifier(bot), received, buttons)


async def _console() -> AsyncIterator[Channel]:
    out = io.StringIO()

    def received() -> list[str]:
        blocks: list[list[str]] = []
        for line in out.getvalue().splitlines():
            if line.startswith("──"):  # the rule (with a label, if any) that opens a message
                blocks.append([])
            elif blocks:
                blocks[-1].append(line)
        return ["\n".join(b).strip() for b in blocks]

    yield Channel(ConsoleNotifier(out), received, lambda: [[] for _ in received()])


CHANNELS = {"telegram": _telegram, "console": _console}


@pytest_asyncio.fixture(params=sorted(CHANNELS))
async def channel(request: pytest.FixtureRequest) -> AsyncIterator[Channel]:
    async for made in CHANNELS[request.param]():
        yield made


def message(text: str) -> OutgoingMessage:
    return OutgoingMessage(
        f"<b>{text}</b> &amp; more", f"{text} & more", ((("👍", "fb:1:7"), ("👎", "fb:-1:7")),)
    )


async def test_capabilities_are_declared(channel: Channel) -> None:
    caps = channel.notifier.capabilities
    assert caps.format in FORMATS and caps.max_length > 0


async def test_a_message_arrives_once_as_its_text(channel: Channel) -> None:
    await send_message(channel.notifier, CHAT, message("ISIS claims attack"))
    assert channel.received() == ["ISIS claims attack & more"]


async def test_buttons_arrive_only_where_the_channel_has_them(channel: Channel) -> None:
    await send_message(channel.notifier, CHAT, message("a"))
    expected = [["👍", "👎"]] if channel.notifier.capabilities.buttons else [[]]
    assert channel.buttons() == expected


async def test_an_edit_replaces_what_the_chat_sees_where_the_channel_can(channel: Channel) -> None:
    if not channel.notifier.capabilities.edits:
        pytest.skip("this channel declares it cannot edit")
    sent = await channel.notifier.send(CHAT, message("first"))
    assert await channel.notifier.edit(CHAT, sent, message("second")) is True
    assert channel.received()[-1] == "second & more"


async def test_a_long_message_arrives_in_parts_within_the_channels_length(channel: Channel) -> None:
    caps = channel.notifier.capabilities
    paragraphs = [f"Paragraph {n}: " + "word " * 150 for n in range(40)]  # about 30,000 chars
    long = OutgoingMessage("\n\n".join(paragraphs), "\n\n".join(paragraphs))
    await send_message(channel.notifier, CHAT, long)
    got = channel.received()
    assert all(len(part) <= caps.max_length for part in got)
    assert " ".join(" ".join(got).split()) == " ".join(" ".join(paragraphs).split())


def test_the_registry_finds_each_chats_channel() -> None:
    console, telegram = ConsoleNotifier(io.StringIO()), ConsoleNotifier(io.StringIO(), "tg")
    registry = Notifiers({"console": console, "telegram": telegram})
    assert registry.for_chat(0) is console and registry.for_chat(42) is telegram
    assert Notifiers({"console": console}).for_chat(42) is None
    assert set(registry) == {"console", "telegram"} and len(registry) == 2


def test_fit_drops_buttons_and_writes_markdown_for_the_channels_that_need_it() -> None:
    from bot.notify.base import Capabilities

    shaped = fit(message("a_b"), Capabilities(format="markdown"))
    assert shaped.buttons == () and shaped.markdown == "**a\\_b** & more"
    kept = fit(message("a"), TelegramNotifier.capabilities)
    assert kept.buttons and kept.markdown == ""
