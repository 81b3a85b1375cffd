"""Tests for the fake Telegram Bot API server, driven by the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import ssl
import time
import warnings
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from tests.fakebotapi import FakeBotAPI, HTMLParseError, parse_html, utf16_len

CHAT = 1001
OTHER_CHAT = 1002
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
# Building an SSL context costs ~40 ms per httpx client; the fake is plain HTTP, so share one.
_SSL_CONTEXT = ssl.create_default_context()


def make_bot(server: FakeBotAPI, token: str | None = None) -> Bot:
    """A real PTB Bot pointed at the fake (default request settings apart from the SSL context)."""

    def request() -> HTTPXRequest:
        return HTTPXRequest(httpx_kwargs={"verify": _SSL_CONTEXT})

    return Bot(
        token or server.token,
        base_url=server.base_url,
        request=request(),
        get_updates_request=request(),
    )


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBotAPI]:
    # Make sure httpx (used by PTB) talks straight to 127.0.0.1, never through a proxy.
    for var in _PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    with FakeBotAPI() as fake:
        yield fake


@pytest_asyncio.fixture
async def bot(server: FakeBotAPI) -> AsyncIterator[Bot]:
    async with make_bot(server) as client:
        yield client


def _raw_post(server: FakeBotAPI, method: str, **kwargs: object) -> httpx.Response:
    with httpx.Client(trust_env=False, verify=_SSL_CONTEXT) as client:
        return client.post(f"{server.base_url}{server.token}/{method}", **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- basics


def test_binds_to_loopback_only(server: FakeBotAPI) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.base_url.endswith("/bot")
    assert server._server is not None
    assert server._server.socket.getsockname()[0] == "127.0.0.1"


@pytest.mark.asyncio
async def test_get_me(server: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.id == server.bot_id == 123456
    assert me.username == "newsbot_test_bot"
    assert me.can_join_groups is True
    assert len(server.calls_to("getMe")) >= 2  # initialize() + explicit call


@pytest.mark.asyncio
async def test_wrong_token_is_rejected(server: FakeBotAPI) -> None:
    with pytest.raises(InvalidToken):
        async with make_bot(server, "999:wrong-token") as other:
            await other.get_me()
    assert server.calls and server.calls[-1][0] == "getMe"


@pytest.mark.asyncio
async def test_unknown_method_is_404(server: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    response = _raw_post(server, "noSuchMethod")
    assert response.status_code == 404
    assert response.json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }


# ------------------------------------------------------------------------------- sendMessage


@pytest.mark.asyncio
async def test_send_valid_html_is_recorded(server: FakeBotAPI, bot: Bot) -> None:
    text = '<b>Hello</b> &amp; <a href="https://example.com/?a=1&amp;b=2">link</a> 😀<i>x</i>'
    message = await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)
    assert message.text == "Hello & link 😀x"
    assert message.chat.id == CHAT
    assert message.from_user is not None and message.from_user.id == server.bot_id
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        (MessageEntity.BOLD, 0, 5),
        (MessageEntity.TEXT_LINK, 8, 4),
        (MessageEntity.ITALIC, 15, 1),  # the emoji counts as 2 UTF-16 code units
    ]
    assert message.entities[1].url == "https://example.com/?a=1&b=2"

    second = await bot.send_message(CHAT, "plain")
    assert second.message_id == message.message_id + 1

    assert [m["text"] for m in server.sent] == [text, "plain"]
    record = server.messages_to(CHAT)[0]
    assert record["chat_id"] == CHAT
    assert record["parse_mode"] == "HTML"
    assert record["message_id"] == message.message_id
    assert record["plain_text"] == "Hello & link 😀x"
    assert server.messages_to(OTHER_CHAT) == []
    assert server.wait_for_messages(CHAT, 2, timeout=1)[1]["text"] == "plain"


@pytest.mark.asyncio
async def test_message_length_limit(server: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(CHAT, "a" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "a" * 4097)
    # Tags do not count, decoded entities count as one character each.
    await bot.send_message(CHAT, "<b>" + "&amp;" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "<b>" + "&amp;" * 4097 + "</b>", parse_mode="HTML")
    # Length is measured in UTF-16 code units: each emoji counts twice.
    await bot.send_message(CHAT, "😀" * 2048)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "😀" * 2049)
    assert len(server.sent) == 3
    assert len(server.calls_to("sendMessage")) == 6  # rejected calls are recorded too


@pytest.mark.asyncio
async def test_empty_text_is_rejected(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(CHAT, "<b> </b>", parse_mode="HTML")


INVALID_HTML = [
    "AT&T",  # bare &
    "1 < 2",  # bare <
    "<div>x</div>",  # unsupported tag
    "<b>unclosed",
    "<b><i>x</b></i>",  # misnested
    "<br>",
    "x</b>",  # end tag without start tag
    "<a>no href</a>",
    '<a href="https://e.com/?a=1&b=2">bare amp in attribute</a>',
    '<span class="other">x</span>',
    "&nbsp;",  # only &lt; &gt; &amp; &quot; and numeric references exist
]


@pytest.mark.asyncio
async def test_invalid_html_is_rejected(server: FakeBotAPI, bot: Bot) -> None:
    for text in INVALID_HTML:
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities: .* at byte offset \d+"):
            await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)
        assert server.calls_to("sendMessage")[-1]["text"] == text
        # The same text without parse_mode is fine.
        await bot.send_message(CHAT, text)
    assert [m["text"] for m in server.sent] == INVALID_HTML
    assert all(m["parse_mode"] is None for m in server.sent)


@pytest.mark.asyncio
async def test_escaped_html_and_other_valid_tags_pass(bot: Bot) -> None:
    message = await bot.send_message(CHAT, "&lt;b&gt; &amp; &quot; &#65;&#x42;", parse_mode="HTML")
    assert message.text == '<b> & " AB'
    assert message.entities == ()
    fancy = (
        '<STRONG>s</STRONG><span class="tg-spoiler">p</span><tg-spoiler>q</tg-spoiler>'
        '<pre><code class="language-python">x = 1</code></pre>'
        "<blockquote expandable>quote</blockquote> a > b"
    )
    message = await bot.send_message(CHAT, fancy, parse_mode="html")
    assert message.text == "spqx = 1quote a > b"
    types = [e.type for e in message.entities]
    assert types == ["bold", "spoiler", "spoiler", "pre", "expandable_blockquote"]
    assert message.entities[3].language == "python"


@pytest.mark.asyncio
async def test_markdown_is_accepted_without_validation(bot: Bot) -> None:
    message = await bot.send_message(CHAT, "*unbalanced _markdown", parse_mode="MarkdownV2")
    assert message.text == "*unbalanced _markdown"


@pytest.mark.asyncio
async def test_reply_markup_is_validated_and_echoed(server: FakeBotAPI, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Mute", callback_data="mute:7")]])
    message = await bot.send_message(CHAT, "alert", reply_markup=markup)
    assert message.reply_markup == markup
    assert server.sent[0]["reply_markup"] == {
        "inline_keyboard": [[{"text": "Mute", "callback_data": "mute:7"}]]
    }
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(CHAT, "alert", reply_markup=too_long)
    ok_64 = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 64)]])
    await bot.send_message(CHAT, "alert", reply_markup=ok_64)


# ------------------------------------------------------------------------------- failures


@pytest.mark.asyncio
async def test_blocked_chat_is_forbidden(server: FakeBotAPI, bot: Bot) -> None:
    server.block_chat(CHAT)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(CHAT, "hi")
    await bot.send_message(OTHER_CHAT, "hi")
    assert [m["chat_id"] for m in server.sent] == [OTHER_CHAT]


@pytest.mark.asyncio
async def test_fail_next_raises_retry_after(server: FakeBotAPI, bot: Bot) -> None:
    server.fail_next(2, retry_after=7)
    for _ in range(2):
        with pytest.raises(RetryAfter) as excinfo:
            await bot.send_message(CHAT, "hi")
        # PTB 22.8: a timedelta with PTB_TIMEDELTA=true (set by the fixture), else int seconds.
        assert excinfo.value.retry_after == dtm.timedelta(seconds=7)
    await bot.send_message(CHAT, "hi")
    assert len(server.sent) == 1


@pytest.mark.asyncio
async def test_retry_after_is_int_seconds_by_default(
    server: FakeBotAPI, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PTB_TIMEDELTA")
    server.fail_next(1, retry_after=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        with pytest.raises(RetryAfter) as excinfo:
            await bot.send_message(CHAT, "hi")
        assert excinfo.value.retry_after == 3
        assert isinstance(excinfo.value.retry_after, int)


@pytest.mark.asyncio
async def test_fail_next_for_one_chat_only(server: FakeBotAPI, bot: Bot) -> None:
    server.fail_next(1, retry_after=2, chat_id=CHAT)
    await bot.send_message(OTHER_CHAT, "unaffected")
    with pytest.raises(RetryAfter):
        await bot.send_message(CHAT, "hi")
    await bot.send_message(CHAT, "hi")
    assert [m["chat_id"] for m in server.sent] == [OTHER_CHAT, CHAT]


@pytest.mark.asyncio
async def test_server_error_injection(server: FakeBotAPI, bot: Bot) -> None:
    server.fail_next_with_server_error(1)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(CHAT, "hi")
    await bot.send_message(CHAT, "hi")


@pytest.mark.asyncio
async def test_rate_limits(server: FakeBotAPI, bot: Bot) -> None:
    server.set_rate_limits(per_chat_per_second=1)
    await bot.send_message(CHAT, "1")
    with pytest.raises(RetryAfter) as excinfo:
        await bot.send_message(CHAT, "2")
    assert excinfo.value.retry_after == dtm.timedelta(seconds=1)
    await bot.send_message(OTHER_CHAT, "other chat has its own budget")
    assert server.rate_limited == 1

    server.set_rate_limits(global_per_second=2)
    await bot.send_message(CHAT, "a")
    await bot.send_message(OTHER_CHAT, "b")
    with pytest.raises(RetryAfter):
        await bot.send_message(3003, "c")
    assert server.rate_limited == 2

    server.set_rate_limits(per_chat_per_second=0.25)
    await bot.send_message(CHAT, "x")
    with pytest.raises(RetryAfter) as excinfo:
        await bot.send_message(CHAT, "y")
    assert excinfo.value.retry_after == dtm.timedelta(seconds=4)  # honest: ceil(1 / 0.25)
    assert [m["text"] for m in server.sent] == ["1", "other chat has its own budget", "a", "b", "x"]


@pytest.mark.asyncio
async def test_group_rate_limit_is_per_minute(server: FakeBotAPI, bot: Bot) -> None:
    server.set_rate_limits(per_chat_per_second=100, per_group_per_minute=20)
    await bot.send_message(-500, "to the group")
    with pytest.raises(RetryAfter) as excinfo:
        await bot.send_message(-500, "again at once")
    assert excinfo.value.retry_after == dtm.timedelta(seconds=3)  # 60 s / 20
    await bot.send_message(CHAT, "a private chat keeps its own rate")
    await bot.send_message(CHAT, "and its own budget")
    assert server.rate_limited == 1


# ------------------------------------------------------------------------------- updates


@pytest.mark.asyncio
async def test_user_message_is_delivered_by_get_updates(server: FakeBotAPI, bot: Bot) -> None:
    sent = server.send_user_message(CHAT, "/start hello")
    updates = await bot.get_updates(timeout=0)
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None
    assert message.text == "/start hello"
    assert message.message_id == sent["message_id"]
    assert message.chat.id == CHAT and message.chat.type == "private"
    assert message.from_user is not None and message.from_user.username == "alice"
    assert message.entities[0].type == MessageEntity.BOT_COMMAND
    assert message.entities[0].length == len("/start")
    # Not confirmed yet: delivered again. Confirmed with offset: gone.
    assert len(await bot.get_updates(timeout=0)) == 1
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()
    assert server.pending_updates == 0


@pytest.mark.asyncio
async def test_long_poll_wakes_up_when_update_is_queued(server: FakeBotAPI, bot: Bot) -> None:
    started = time.monotonic()
    task = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    assert not task.done()
    server.send_user_message(CHAT, "news?", chat_type="group", user_id=77, username="bob")
    updates = await asyncio.wait_for(task, timeout=3)
    assert time.monotonic() - started < 2
    assert updates[0].message is not None
    assert updates[0].message.chat.type == "group"
    assert updates[0].message.from_user is not None
    assert updates[0].message.from_user.id == 77


@pytest.mark.asyncio
async def test_press_button_edit_and_answer(server: FakeBotAPI, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Mute", callback_data="mute")]])
    sent = await bot.send_message(CHAT, "alert", reply_markup=markup)
    with pytest.raises(ValueError, match="no button"):
        server.press_button(CHAT, sent.message_id, "not-a-button")
    query_id = server.press_button(CHAT, sent.message_id, "mute")
    updates = await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    query = updates[0].callback_query
    assert query is not None and query.id == query_id and query.data == "mute"
    assert query.message is not None and query.message.message_id == sent.message_id

    await bot.answer_callback_query(query_id, text="Muted")
    assert server.answered_callbacks[0]["text"] == "Muted"
    with pytest.raises(BadRequest, match=r"(?i)query id is invalid"):
        await bot.answer_callback_query(query_id)

    edited = await bot.edit_message_text("alert (muted)", chat_id=CHAT, message_id=sent.message_id)
    assert edited is not True and edited.text == "alert (muted)"  # type: ignore[union-attr]
    assert server.edits[-1]["text"] == "alert (muted)"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("alert (muted)", chat_id=CHAT, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=CHAT, message_id=999)
    # Editing the text without reply_markup removed the keyboard, as in Telegram.
    with pytest.raises(ValueError, match="no button"):
        server.press_button(CHAT, sent.message_id, "mute")


@pytest.mark.asyncio
async def test_application_polling_round_trip(server: FakeBotAPI) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(
            update.effective_chat.id, "<b>Welcome</b>", parse_mode="HTML"
        )

    app = (
        Application.builder()
        .token(server.token)
        .base_url(server.base_url)
        .request(HTTPXRequest(httpx_kwargs={"verify": _SSL_CONTEXT}))
        .get_updates_request(HTTPXRequest(httpx_kwargs={"verify": _SSL_CONTEXT}))
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        server.send_user_message(CHAT, "/start")
        messages = await asyncio.to_thread(server.wait_for_messages, CHAT, 1, 3.0)
        await app.updater.stop()
        await app.stop()
    assert messages[0]["plain_text"] == "Welcome"
    assert server.calls_to("deleteWebhook")
    assert server.pending_updates == 0  # the updater confirmed the update


# ------------------------------------------------------------------------------- misc methods


@pytest.mark.asyncio
async def test_commands_and_chat_members(server: FakeBotAPI, bot: Bot) -> None:
    await bot.set_my_commands([("start", "Start the bot"), ("topics", "List topics")])
    assert [c["command"] for c in server.my_commands] == ["start", "topics"]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "topics"]
    with pytest.raises(BadRequest):
        await bot.set_my_commands([("Bad-Command", "x")])
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()

    server.add_admin(-100500, 42)
    assert (await bot.get_chat_member(-100500, 42)).status == "administrator"
    assert (await bot.get_chat_member(-100500, 43)).status == "member"
    admins = await bot.get_chat_administrators(-100500)
    assert [a.user.id for a in admins] == [42]
    chat = await bot.get_chat(-100500)
    assert chat.type == "supergroup"
    assert await bot.delete_webhook() is True


def test_wait_for_messages_times_out_with_details(server: FakeBotAPI) -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"chat 1001 .* got 0"):
        server.wait_for_messages(CHAT, 1, timeout=0.1)
    assert time.monotonic() - started < 1


def test_json_and_multipart_bodies_are_parsed(server: FakeBotAPI) -> None:
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    response = _raw_post(
        server, "SENDMESSAGE", json={"chat_id": CHAT, "text": "json", "reply_markup": markup}
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["reply_markup"] == markup

    response = _raw_post(
        server,
        "sendMessage",
        data={"chat_id": str(CHAT), "text": "[multipart]", "reply_markup": json.dumps(markup)},
        files={"unused": ("a.txt", b"file body", "text/plain")},
    )
    assert response.status_code == 200, response.text
    params = server.calls_to("sendmessage")[-1]
    assert params["chat_id"] == CHAT
    assert params["text"] == "[multipart]"
    assert params["reply_markup"] == markup
    assert params["unused"]["content"] == b"file body"
    assert [m["text"] for m in server.messages_to(CHAT)] == ["json", "[multipart]"]

    bad = _raw_post(
        server, "sendMessage", data={"chat_id": str(CHAT), "text": "x", "reply_markup": "{not json"}
    )
    assert bad.status_code == 400
    assert bad.json()["description"].startswith("Bad Request: can't parse reply keyboard")


# ------------------------------------------------------------------------------- HTML parser


def test_parse_html_offsets_and_errors() -> None:
    assert utf16_len("a😀") == 3
    text, entities = parse_html("😀<u>x</u>")
    assert text == "😀x"
    assert entities == [{"type": "underline", "offset": 2, "length": 1}]
    with pytest.raises(HTMLParseError) as excinfo:
        parse_html("é & x")
    assert excinfo.value.byte_offset == 3  # "é" is 2 bytes in UTF-8
    with pytest.raises(HTMLParseError, match='Unmatched end tag "</b>", expected "</i>"'):
        parse_html("<b><i>x</b></i>")
