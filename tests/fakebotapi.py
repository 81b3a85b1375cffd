"""A fake Telegram Bot API HTTP server for tests.

``FakeBotAPI`` runs a small HTTP server (standard library only) on ``127.0.0.1`` with an
ephemeral port, in a daemon thread. The real python-telegram-bot ``Bot``/``Application`` talks
to it over HTTP::

    with FakeBotAPI() as server:
        bot = telegram.Bot(server.token, base_url=server.base_url)
        ...
        server.send_user_message(42, "/start")       # act as a user
        server.wait_for_messages(42, 1)               # observe what the bot sent

Requests arrive as ``POST /bot<TOKEN>/<method>`` with a JSON, form-encoded or multipart body
(query-string parameters are accepted too). Method names are case-insensitive. Responses use
Telegram's envelope: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
"description": "...", "parameters": {...}}`` with the matching HTTP status.

What is checked, like Telegram does:

* ``text`` must be non-empty after entity parsing and at most 4096 UTF-16 code units long.
* ``parse_mode="HTML"`` is validated by a hand-written tokenizer (see :func:`parse_html`).
  The fake is deliberately *strict*: every ``&`` must start ``&lt;``, ``&gt;``, ``&amp;``,
  ``&quot;`` or a numeric reference (also inside attribute values such as ``href``), and every
  ``<`` must start a supported tag. A bare ``>`` is accepted, as Telegram does. Nesting rules
  between entity types (e.g. nothing inside ``<code>``) are *not* enforced.
* ``parse_mode="Markdown"``/``"MarkdownV2"`` are accepted **without validation**; the text is
  stored verbatim and no entities are produced.
* ``reply_markup`` must be valid JSON of a keyboard; inline keyboards are fully checked
  (``callback_data`` 1-64 bytes, else ``BUTTON_DATA_INVALID``).

Documents: ``sendDocument`` (multipart upload, recorded with its bytes) and ``getFile`` with
the download path, for documents a test sends as a user (:meth:`FakeBotAPI.send_user_document`).

Limitations: no other files/media methods, no inline mode, no webhooks, no 409 for concurrent
``getUpdates``, and the "user must have started the bot" rule is ignored. The server never opens
outgoing connections: it only listens on 127.0.0.1 (the host name is never resolved).
"""

from __future__ import annotations

import contextlib
import copy
import email.parser
import email.policy
import email.utils
import itertools
import json
import math
import re
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NoReturn
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "FakeBotAPI",
    "HTMLParseError",
    "TelegramAPIError",
    "parse_html",
    "utf16_len",
]

JSON = dict[str, Any]

MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_LONG_POLL_SECONDS = 10.0

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_KEYBOARD_JSON_INVALID = "Bad Request: can't parse reply keyboard markup JSON object"

# Parameters whose form/multipart string values are converted to int / bool.
_INT_PARAMS = frozenset(
    {
        "chat_id",
        "message_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "message_thread_id",
        "from_chat_id",
        "cache_time",
        "until_date",
    }
)
_BOOL_PARAMS = frozenset(
    {
        "disable_web_page_preview",
        "disable_notification",
        "protect_content",
        "allow_sending_without_reply",
        "allow_paid_broadcast",
        "show_alert",
        "drop_pending_updates",
        "only_if_banned",
        "revoke_messages",
        "for_channels",
    }
)
# Free-text parameters that are never JSON-decoded even if they look like JSON.
_TEXT_PARAMS = frozenset(
    {
        "text",
        "caption",
        "description",
        "short_description",
        "name",
        "title",
        "url",
        "callback_query_id",
        "inline_message_id",
        "parse_mode",
        "language_code",
        "action",
    }
)

_BUTTON_KINDS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

_DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "callback_query",
        "inline_query",
        "chosen_inline_result",
        "my_chat_member",
        "poll",
        "poll_answer",
        "chat_join_request",
    }
)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class TelegramAPIError(Exception):
    """An error answer of the fake API (HTTP status + Telegram description)."""

    def __init__(
        self, status: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = dict(parameters) if parameters else None

    def payload(self) -> JSON:
        """Return the JSON body Telegram would send for this error."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(reason: str) -> TelegramAPIError:
    return TelegramAPIError(400, f"Bad Request: {reason}")


class HTMLParseError(ValueError):
    """Raised by :func:`parse_html`; ``str(err)`` is ``"<reason> at byte offset N"``."""

    def __init__(self, reason: str, byte_offset: int) -> None:
        super().__init__(f"{reason} at byte offset {byte_offset}")
        self.reason = reason
        self.byte_offset = byte_offset


# --------------------------------------------------------------------------------------------
# Telegram-style HTML parsing
# --------------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (how Telegram measures text and offsets)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ATTR_NAME_RE = re.compile(r"[A-Za-z0-9_:-]+")
_WHITESPACE = " \t\r\n\f\v"

_TAG_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


def _decode_entity_at(text: str, index: int) -> tuple[str, int] | None:
    """Decode the character reference starting at ``text[index] == "&"``.

    Returns ``(character, end_index)`` or ``None`` when it is not a valid reference.
    """
    match = _ENTITY_RE.match(text, index)
    if match is None:
        return None
    if match.group(1):
        return _NAMED_ENTITIES[match.group(1)], match.end()
    code = int(match.group(2)) if match.group(2) is not None else int(match.group(3), 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    index: int
    utf16_start: int
    language: str | None = None
    merged_into_pre: bool = False


@dataclass
class _HTMLParser:
    text: str
    out: list[str] = field(default_factory=list)
    pos16: int = 0
    stack: list[_OpenTag] = field(default_factory=list)
    entities: list[JSON] = field(default_factory=list)

    def fail(self, reason: str, index: int) -> NoReturn:
        offset = len(self.text[:index].encode("utf-8", "surrogatepass"))
        raise HTMLParseError(reason, offset)

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.pos16 += utf16_len(chunk)

    def run(self) -> tuple[str, list[JSON]]:
        text = self.text
        i = 0
        while i < len(text):
            char = text[i]
            if char == "&":
                decoded = _decode_entity_at(text, i)
                if decoded is None:
                    self.fail('Character "&" must be escaped as "&amp;"', i)
                self.emit(decoded[0])
                i = decoded[1]
            elif char == "<":
                i = self.end_tag(i) if text.startswith("</", i) else self.start_tag(i)
            else:
                j = i + 1
                while j < len(text) and text[j] not in "&<":
                    j += 1
                self.emit(text[i:j])
                i = j
        if self.stack:
            top = self.stack[-1]
            self.fail(f'Can\'t find end tag corresponding to start tag "{top.name}"', top.index)
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def skip_ws(self, j: int) -> int:
        while j < len(self.text) and self.text[j] in _WHITESPACE:
            j += 1
        return j

    def attr_value(self, raw: str, start: int) -> str:
        parts: list[str] = []
        k = 0
        while k < len(raw):
            if raw[k] == "&":
                decoded = _decode_entity_at(raw, k)
                if decoded is None:
                    self.fail('Character "&" must be escaped as "&amp;"', start + k)
                parts.append(decoded[0])
                k = decoded[1]
            else:
                parts.append(raw[k])
                k += 1
        return "".join(parts)

    def start_tag(self, i: int) -> int:
        text = self.text
        j = i + 1
        while j < len(text) and text[j] not in _WHITESPACE and text[j] not in ">/<":
            j += 1
        name = text[i + 1 : j].lower()
        if not name or not ("a" <= name[0] <= "z"):
            self.fail('Character "<" must be escaped as "&lt;"', i)
        if j >= len(text):
            self.fail("Unclosed start tag", i)
        if name not in _TAG_ENTITY_TYPES:
            self.fail(f'Unsupported start tag "{name}"', i)
        attrs: dict[str, str] = {}
        while True:
            j = self.skip_ws(j)
            if j >= len(text):
                self.fail(f'Unclosed start tag "{name}"', i)
            if text[j] == ">":
                j += 1
                break
            match = _ATTR_NAME_RE.match(text, j)
            if match is None:
                self.fail(f'Empty attribute name in the tag "{name}"', j)
            attr_name = match.group(0).lower()
            j = self.skip_ws(match.end())
            value = ""
            if j < len(text) and text[j] == "=":
                j = self.skip_ws(j + 1)
                if j >= len(text):
                    self.fail(f'Unclosed start tag "{name}"', i)
                if text[j] in "\"'":
                    end = text.find(text[j], j + 1)
                    if end == -1:
                        self.fail(f'Unclosed value of attribute "{attr_name}"', j)
                    value = self.attr_value(text[j + 1 : end], j + 1)
                    j = end + 1
                else:
                    k = j
                    while k < len(text) and text[k] not in _WHITESPACE and text[k] != ">":
                        k += 1
                    value = self.attr_value(text[j:k], j)
                    j = k
            attrs[attr_name] = value
        tag = _OpenTag(name=name, attrs=attrs, index=i, utf16_start=self.pos16)
        self.check_attributes(tag)
        self.stack.append(tag)
        return j

    def check_attributes(self, tag: _OpenTag) -> None:
        attrs = tag.attrs
        if tag.name == "a" and not attrs.get("href", "").strip():
            self.fail('Tag "a" must have non-empty attribute "href"', tag.index)
        if tag.name == "span" and attrs.get("class") != "tg-spoiler":
            self.fail('Tag "span" must have class "tg-spoiler"', tag.index)
        if tag.name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            self.fail('Tag "tg-emoji" must have a numeric attribute "emoji-id"', tag.index)
        if tag.name == "code" and self.stack and self.stack[-1].name == "pre":
            tag.merged_into_pre = True
            css = attrs.get("class", "")
            if css.startswith("language-") and len(css) > len("language-"):
                self.stack[-1].language = css[len("language-") :]

    def end_tag(self, i: int) -> int:
        end = self.text.find(">", i + 2)
        if end == -1:
            self.fail("Unclosed end tag", i)
        name = self.text[i + 2 : end].strip().lower()
        if not self.stack:
            self.fail(f'Unexpected end tag "</{name}>"', i)
        top = self.stack.pop()
        if name != top.name:
            self.fail(f'Unmatched end tag "</{name}>", expected "</{top.name}>"', i)
        length = self.pos16 - top.utf16_start
        if length > 0 and not top.merged_into_pre:
            entity_type = _TAG_ENTITY_TYPES[top.name]
            entity: JSON = {"type": entity_type, "offset": top.utf16_start, "length": length}
            if top.name == "a":
                entity["url"] = top.attrs["href"].strip()
            elif top.name == "pre" and top.language:
                entity["language"] = top.language
            elif top.name == "blockquote" and "expandable" in top.attrs:
                entity["type"] = "expandable_blockquote"
            elif top.name == "tg-emoji":
                entity["custom_emoji_id"] = top.attrs["emoji-id"]
            self.entities.append(entity)
        return end + 1


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Parse Telegram-flavoured HTML into ``(plain_text, entities)``.

    Entity offsets/lengths are in UTF-16 code units. Raises :class:`HTMLParseError` for a bare
    ``&`` or ``<``, unsupported tags, bad attributes and unclosed or misnested tags.
    """
    return _HTMLParser(text).run()


# --------------------------------------------------------------------------------------------
# Request parsing helpers
# --------------------------------------------------------------------------------------------


def _coerce(name: str, value: str) -> Any:
    """Convert a form/multipart string value to the type Telegram would use."""
    if name in _INT_PARAMS:
        return int(value) if re.fullmatch(r"-?\d+", value.strip()) else value
    if name in _BOOL_PARAMS:
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0", ""):
            return False
        return value
    if name in _TEXT_PARAMS:
        return value
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _parse_multipart(content_type: str, body: bytes) -> JSON:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise _bad_request("can't parse multipart/form-data body")
    result: JSON = {}
    for part in message.iter_parts():
        if not isinstance(part, EmailMessage):
            continue
        raw_name = part.get_param("name", header="content-disposition")
        if raw_name is None:
            continue
        name = (
            email.utils.collapse_rfc2231_value(raw_name)
            if isinstance(raw_name, tuple)
            else str(raw_name)
        )
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            result[name] = {
                "filename": filename,
                "content_type": part.get_content_type(),
                "content": data,
            }
        else:
            charset = part.get_content_charset() or "utf-8"
            result[name] = _coerce(name, data.decode(charset, "replace"))
    return result


def _parse_params(query: str, content_type: str, body: bytes) -> JSON:
    params: JSON = {k: _coerce(k, v) for k, v in parse_qsl(query, keep_blank_values=True)}
    if not body:
        return params
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        try:
            data = json.loads(body.decode("utf-8"))
        except ValueError as exc:
            raise _bad_request("can't parse JSON object") from exc
        if not isinstance(data, dict):
            raise _bad_request("JSON object expected")
        params.update(data)
    elif media_type == "multipart/form-data":
        params.update(_parse_multipart(content_type, body))
    else:  # application/x-www-form-urlencoded (or unspecified)
        text = body.decode("utf-8", "replace")
        params.update({k: _coerce(k, v) for k, v in parse_qsl(text, keep_blank_values=True)})
    return params


def _int_param(params: Mapping[str, Any], name: str, default: int | None = None) -> int:
    value = params.get(name)
    if value is None or value == "":
        if default is None:
            raise _bad_request(f"{name} is empty")
        return default
    if isinstance(value, bool):
        raise _bad_request(f'field "{name}" must be of type Integer')
    if isinstance(value, int):
        return value
    try:
        return int(float(str(value)))
    except ValueError as exc:
        raise _bad_request(f'field "{name}" must be of type Integer') from exc


def _chat_id_param(params: Mapping[str, Any]) -> int:
    value = params.get("chat_id")
    if value is None or value == "":
        raise _bad_request("chat_id is empty")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise _bad_request("chat not found")


def _callback_datas(markup: Any) -> list[str]:
    if not isinstance(markup, dict):
        return []
    return [
        button["callback_data"]
        for row in markup.get("inline_keyboard", [])
        for button in row
        if isinstance(button, dict) and "callback_data" in button
    ]


# --------------------------------------------------------------------------------------------
# Failure injection / rate limiting state
# --------------------------------------------------------------------------------------------


@dataclass
class _Injection:
    remaining: int
    status: int
    description: str
    parameters: JSON | None
    chat_id: int | None


@dataclass
class _Bucket:
    """Token bucket: ``rate`` tokens/second, burst of ``max(1, rate)``."""

    rate: float
    tokens: float
    updated: float

    @property
    def capacity(self) -> float:
        return max(1.0, self.rate)

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now

    def seconds_until_token(self) -> float:
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, fake: FakeBotAPI) -> None:
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (socket.getfqdn); skip that lookup.
        socketserver.TCPServer.server_bind(self)
        host, port = self.socket.getsockname()[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, socket.socket):
            with self._connections_lock:
                self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients going away mid-request (cancelled long polls) are normal in tests.
        pass

    def close_connections(self) -> None:
        """Shut down open keep-alive connections so their handler threads exit."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # avoid 40 ms Nagle/delayed-ACK stalls on keep-alive
    timeout = 60  # idle keep-alive connections are closed after this many seconds
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/file/bot"):
            self._send_file()
            return
        self._dispatch()

    def _send_file(self) -> None:
        """A file a user sent, as ``getFile`` told the bot where to download it."""
        fake = self.server.fake
        token, _, path = unquote(self.path[len("/file/bot") :]).partition("/")
        data = fake._files.get(path.rsplit("/", 1)[-1]) if token == fake.token else None
        self.send_response(200 if data is not None else 404)
        self.send_header("Content-Length", str(len(data or b"")))
        self.end_headers()
        self.wfile.write(data or b"")

    def do_POST(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        body = self._read_body()
        status, payload = self.server.fake._handle_http(
            self.path, self.headers.get("Content-Type", ""), body
        )
        data = json.dumps(payload, ensure_ascii=False, default=repr).encode("utf-8")
        fake = self.server.fake
        with fake._cond:
            if fake._garbled > 0:  # a server in trouble: 200, and a body that is not JSON
                fake._garbled -= 1
                status, data = 200, b'{"ok": true, "result": {"id": 1, '  # cut short
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True


_PATH_RE = re.compile(r"/bot([^/]*)/([^/]*)/?")


# --------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------


class FakeBotAPI:
    """Fake Telegram Bot API server; see the module docstring.

    All observation lists (``sent``, ``calls``, ``edits``, ``answered_callbacks``) are appended
    to from server threads while holding an internal lock; read them freely from tests, or use
    the ``wait_for_*`` helpers to block until something arrives.
    """

    def __init__(
        self,
        token: str = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz",
        bot_username: str = "newsbot_test_bot",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        """What the rate limits measure time by (a test's virtual clock, or the real one)."""
        match = re.fullmatch(r"(\d+):[A-Za-z0-9_-]+", token)
        if match is None:
            raise ValueError(f"not a Telegram-style bot token: {token!r}")
        self.token = token
        self.bot_id = int(match.group(1))
        self.bot_username = bot_username
        self.bot_first_name = "NewsBot Test"

        self._cond = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

        # observation
        self.sent: list[JSON] = []
        self.calls: list[tuple[str, JSON]] = []
        self.edits: list[JSON] = []
        self.answered_callbacks: list[JSON] = []
        self.my_commands: list[JSON] = []
        self.rate_limited = 0
        self.server_errors: list[str] = []

        # state
        self._updates: list[JSON] = []
        self._update_ids = itertools.count(1)
        self._allowed_updates: frozenset[str] = _DEFAULT_UPDATE_TYPES
        self._message_counters: dict[int, int] = {}
        self._messages: dict[tuple[int, int], JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._files: dict[str, bytes] = {}
        self._users: dict[int, JSON] = {}
        self._last_user_in_chat: dict[int, int] = {}
        self._callback_ids = itertools.count(4_000_000_000_001)
        self._callback_queries: dict[str, JSON] = {}
        self._answered_ids: set[str] = set()
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._admins: dict[int, set[int]] = {}
        self._blocked: set[int] = set()
        self._injections: list[_Injection] = []
        self._garbled = 0
        self._per_chat_rate: float | None = None
        self._group_rate: float | None = None
        self._global_rate: float | None = None
        self._chat_buckets: dict[int, _Bucket] = {}
        self._global_bucket: _Bucket | None = None

        self._methods: dict[str, Callable[[JSON], Any]] = {
            "getme": self._m_get_me,
            "getupdates": self._m_get_updates,
            "deletewebhook": self._m_delete_webhook,
            "getwebhookinfo": self._m_get_webhook_info,
            "setmycommands": self._m_set_my_commands,
            "getmycommands": self._m_get_my_commands,
            "deletemycommands": self._m_delete_my_commands,
            "sendmessage": self._m_send_message,
            "editmessagetext": self._m_edit_message_text,
            "editmessagereplymarkup": self._m_edit_message_reply_markup,
            "deletemessage": self._m_delete_message,
            "answercallbackquery": self._m_answer_callback_query,
            "sendchataction": self._m_send_chat_action,
            "getchat": self._m_get_chat,
            "getchatmember": self._m_get_chat_member,
            "getchatadministrators": self._m_get_chat_administrators,
            "senddocument": self._m_send_document,
            "getfile": self._m_get_file,
            "close": self._m_true,
            "logout": self._m_true,
        }

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> FakeBotAPI:
        """Bind to 127.0.0.1 on an ephemeral port and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("FakeBotAPI already started")
        self._stopping = False
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="FakeBotAPI",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake long polls, close connections. Safe to call twice."""
        server, thread = self._server, self._thread
        if server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The ephemeral TCP port (only while started)."""
        if self._server is None:
            raise RuntimeError("FakeBotAPI is not started")
        return self._server.server_port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/bot``: pass as ``base_url`` to ``telegram.Bot``."""
        return f"http://127.0.0.1:{self.port}/bot"

    # ---------------------------------------------------------------- driving the bot

    def send_user_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        username: str = "alice",
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """Queue a ``message`` update from a user (``channel_post`` for channels).

        A ``bot_command`` entity is added when ``text`` starts with ``/``. ``user_id`` defaults
        to ``chat_id``. Returns (a copy of) the message dict.
        """
        uid = chat_id if user_id is None else user_id
        with self._cond:
            chat = self._register_chat(chat_id, chat_type, username)
            user = self._register_user(uid, username)
            message: JSON = {
                "message_id": self._next_message_id(chat_id),
                "date": int(time.time()),
                "chat": dict(chat),
                "text": text,
            }
            if chat_type == "channel":
                message["sender_chat"] = dict(chat)
            else:
                message["from"] = dict(user)
                self._last_user_in_chat[chat_id] = uid
            command = re.match(r"/\S+", text)
            if command is not None:
                message["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}
                ]
            if reply_to_message_id is not None:
                original = self._messages.get((chat_id, reply_to_message_id))
                if original is None:
                    original = {
                        "message_id": reply_to_message_id,
                        "date": int(time.time()),
                        "chat": dict(chat),
                    }
                message["reply_to_message"] = copy.deepcopy(original)
            self._messages[(chat_id, message["message_id"])] = message
            self._queue_update("channel_post" if chat_type == "channel" else "message", message)
            return copy.deepcopy(message)

    def send_user_document(
        self,
        chat_id: int,
        filename: str,
        content: bytes,
        *,
        caption: str | None = None,
        mime_type: str = "application/octet-stream",
        user_id: int | None = None,
    ) -> JSON:
        """Queue a ``message`` update with a document a user sent; the bot can fetch it with
        ``getFile`` and a download from ``/file/bot<token>/<file_path>``."""
        uid = chat_id if user_id is None else user_id
        with self._cond:
            chat = self._register_chat(chat_id, "private", "alice")
            user = self._register_user(uid, "alice")
            file_id = f"doc{len(self._files) + 1}"
            self._files[file_id] = content
            message: JSON = {
                "message_id": self._next_message_id(chat_id),
                "date": int(time.time()),
                "chat": dict(chat),
                "from": dict(user),
                "document": {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id}",
                    "file_name": filename,
                    "mime_type": mime_type,
                    "file_size": len(content),
                },
            }
            if caption is not None:
                message["caption"] = caption
            self._last_user_in_chat[chat_id] = uid
            self._messages[(chat_id, message["message_id"])] = message
            self._queue_update("message", message)
            return copy.deepcopy(message)

    def press_button(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        require_button: bool = True,
    ) -> str:
        """Queue a ``callback_query`` update for a button on a message the bot sent.

        The current version of the message is included. With ``require_button`` (default) the
        message must currently carry an inline button with this ``callback_data``, as a real
        user could not press anything else. ``user_id`` defaults to ``chat_id`` for private
        chats, else to the last user who wrote in the chat. Returns the callback query id.
        """
        with self._cond:
            message = self._messages.get((chat_id, message_id))
            if message is None:
                raise KeyError(f"no message {message_id} in chat {chat_id}")
            if message.get("from", {}).get("id") != self.bot_id:
                raise ValueError(f"message {message_id} in chat {chat_id} was not sent by the bot")
            available = _callback_datas(message.get("reply_markup"))
            if require_button and data not in available:
                raise ValueError(
                    f"message {message_id} in chat {chat_id} has no button with callback_data "
                    f"{data!r}; available: {available!r}"
                )
            if user_id is None:
                user_id = chat_id if chat_id > 0 else self._last_user_in_chat.get(chat_id, 1)
            user = self._users.get(user_id) or self._register_user(user_id, None)
            query_id = str(next(self._callback_ids))
            query: JSON = {
                "id": query_id,
                "from": dict(user),
                "message": copy.deepcopy(message),
                "chat_instance": str(7_000_000_000_000 + chat_id),
                "data": data,
            }
            self._callback_queries[query_id] = query
            self._queue_update("callback_query", query)
            return query_id

    def add_channel(
        self,
        chat_id: int,
        username: str,
        *,
        admins: tuple[int, ...] = (),
        bot_is_admin: bool = True,
    ) -> None:
        """A channel ``@username`` (getChat accepts the name) with these admins; the bot may
        post in it only if it is one of them, as in Telegram."""
        with self._cond:
            self._chats[chat_id] = {
                "id": chat_id,
                "type": "channel",
                "title": f"Channel {username}",
                "username": username,
            }
            members = self._admins.setdefault(chat_id, set())
            members.update(admins)
            if bot_is_admin:
                members.add(self.bot_id)

    def _chat_id(self, params: Mapping[str, Any]) -> int:
        """The ``chat_id`` parameter; ``@username`` is looked up among known chats."""
        value = params.get("chat_id")
        if isinstance(value, str) and value.startswith("@"):
            with self._cond:
                for chat in self._chats.values():
                    if chat.get("username", "").lower() == value[1:].lower():
                        return int(chat["id"])
            raise _bad_request("chat not found")
        return _chat_id_param(params)

    def add_admin(self, chat_id: int, user_id: int) -> None:
        """Make ``getChatMember(chat_id, user_id)`` answer status ``administrator``."""
        with self._cond:
            self._admins.setdefault(chat_id, set()).add(user_id)

    # ---------------------------------------------------------------- observing

    def messages_to(self, chat_id: int) -> list[JSON]:
        """All accepted ``sendMessage`` records for ``chat_id``, in order."""
        with self._cond:
            return [m for m in self.sent if m["chat_id"] == chat_id]

    def wait_for_messages(self, chat_id: int, count: int, timeout: float = 10.0) -> list[JSON]:
        """Block until at least ``count`` messages were sent to ``chat_id``; return them all.

        Raises ``AssertionError`` listing what arrived if the timeout expires.
        """
        with self._cond:
            ok = self._cond.wait_for(
                lambda: sum(1 for m in self.sent if m["chat_id"] == chat_id) >= count, timeout
            )
            got = [m for m in self.sent if m["chat_id"] == chat_id]
        if not ok:
            texts = [m.get("text") for m in got]
            raise AssertionError(
                f"expected >= {count} message(s) to chat {chat_id} within {timeout}s, "
                f"got {len(got)}: {texts!r}"
            )
        return got

    def calls_to(self, method: str) -> list[JSON]:
        """Parameters of every request to ``method`` (case-insensitive), rejected ones too."""
        wanted = method.lower()
        with self._cond:
            return [params for name, params in self.calls if name.lower() == wanted]

    def wait_for_calls(self, method: str, count: int, timeout: float = 10.0) -> list[JSON]:
        """Block until at least ``count`` requests to ``method`` arrived; return their params."""
        wanted = method.lower()

        def matching() -> list[JSON]:
            return [params for name, params in self.calls if name.lower() == wanted]

        with self._cond:
            ok = self._cond.wait_for(lambda: len(matching()) >= count, timeout)
            got = matching()
        if not ok:
            raise AssertionError(
                f"expected >= {count} call(s) to {method} within {timeout}s, got {len(got)}"
            )
        return got

    @property
    def pending_updates(self) -> int:
        """Number of queued updates not yet confirmed via ``getUpdates(offset=...)``."""
        with self._cond:
            return len(self._updates)

    def wait_for_updates_consumed(self, timeout: float = 10.0) -> None:
        """Block until the bot confirmed every queued update, else ``AssertionError``."""
        with self._cond:
            if not self._cond.wait_for(lambda: not self._updates, timeout):
                raise AssertionError(
                    f"{len(self._updates)} update(s) still unconfirmed after {timeout}s"
                )

    def commands_for(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[JSON]:
        """Commands currently set for ``scope`` (default scope) and ``language_code``."""
        with self._cond:
            return list(self._commands.get(self._commands_key(scope, language_code), []))

    # ---------------------------------------------------------------- failure injection

    def block_chat(self, chat_id: int) -> None:
        """Sends to ``chat_id`` now fail with 403 ``Forbidden: bot was blocked by the user``."""
        with self._cond:
            self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        """Undo :meth:`block_chat`."""
        with self._cond:
            self._blocked.discard(chat_id)

    def fail_next(self, count: int, *, retry_after: int = 1, chat_id: int | None = None) -> None:
        """The next ``count`` ``sendMessage`` calls (to ``chat_id`` only, if given) get 429."""
        if retry_after < 1:
            raise ValueError("retry_after must be >= 1 (PTB ignores a falsy retry_after)")
        self._inject(
            count,
            429,
            f"Too Many Requests: retry after {retry_after}",
            {"retry_after": retry_after},
            chat_id,
        )

    def fail_next_with(
        self, description: str, *, status: int = 400, count: int = 1, chat_id: int | None = None
    ) -> None:
        """The next ``count`` ``sendMessage`` calls fail with ``status`` and this description
        (a server that says something odd, e.g. echoes the token)."""
        self._inject(count, status, description, None, chat_id)

    def garble_next(self, count: int) -> None:
        """The next ``count`` answers, to any method, are 200 with a cut-short JSON body."""
        with self._cond:
            self._garbled += count

    def fail_next_with_server_error(self, count: int, *, status: int = 502) -> None:
        """The next ``count`` ``sendMessage`` calls fail with ``status`` (502 Bad Gateway)."""
        self._inject(count, status, HTTPStatus(status).phrase, None, None)

    def set_rate_limits(
        self,
        *,
        per_chat_per_second: float | None = None,
        global_per_second: float | None = None,
        per_group_per_minute: float | None = None,
    ) -> None:
        """Enforce token-bucket rate limits on ``sendMessage`` (``None`` disables one).

        ``per_group_per_minute`` applies to groups, supergroups and channels (by their known
        type, else a negative id) instead of the per-chat rate, as Telegram's 20/min does.
        Each bucket allows a burst of ``max(1, rate)`` messages. Excess calls get 429 with
        ``retry_after`` = ceil(seconds until a message would be accepted), and increment
        ``rate_limited``. Calling this resets the buckets.
        """
        for rate in (per_chat_per_second, global_per_second, per_group_per_minute):
            if rate is not None and rate <= 0:
                raise ValueError("rates must be positive (or None to disable)")
        with self._cond:
            self._per_chat_rate = per_chat_per_second
            self._group_rate = None if per_group_per_minute is None else per_group_per_minute / 60
            self._global_rate = global_per_second
            self._chat_buckets.clear()
            self._global_bucket = None
            if global_per_second is not None:
                self._global_bucket = self._new_bucket(global_per_second, self.clock())

    # ---------------------------------------------------------------- internals: state

    def _inject(
        self,
        count: int,
        status: int,
        description: str,
        parameters: JSON | None,
        chat_id: int | None,
    ) -> None:
        if count <= 0:
            return
        with self._cond:
            self._injections.append(_Injection(count, status, description, parameters, chat_id))

    def _check_injections(self, chat_id: int) -> None:
        # caller holds the lock
        for injection in self._injections:
            if injection.chat_id is None or injection.chat_id == chat_id:
                injection.remaining -= 1
                if injection.remaining <= 0:
                    self._injections.remove(injection)
                raise TelegramAPIError(
                    injection.status, injection.description, injection.parameters
                )

    @staticmethod
    def _new_bucket(rate: float, now: float) -> _Bucket:
        return _Bucket(rate=rate, tokens=max(1.0, rate), updated=now)

    def _take_rate_token(self, chat_id: int) -> None:
        # caller holds the lock; raises 429 without consuming anything when over the limit
        now = self.clock()
        buckets: list[_Bucket] = []
        rate = self._per_chat_rate
        if self._group_rate is not None and self._chat(chat_id)["type"] != "private":
            rate = self._group_rate
        if rate is not None:
            bucket = self._chat_buckets.get(chat_id)
            if bucket is None:
                bucket = self._new_bucket(rate, now)
                self._chat_buckets[chat_id] = bucket
            buckets.append(bucket)
        if self._global_bucket is not None:
            buckets.append(self._global_bucket)
        for bucket in buckets:
            bucket.refill(now)
        wait = max((bucket.seconds_until_token() for bucket in buckets), default=0.0)
        if wait > 0:
            self.rate_limited += 1
            retry_after = max(1, math.ceil(wait - 1e-9))
            raise TelegramAPIError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        for bucket in buckets:
            bucket.tokens -= 1.0

    def _next_message_id(self, chat_id: int) -> int:
        value = self._message_counters.get(chat_id, 0) + 1
        self._message_counters[chat_id] = value
        return value

    def _queue_update(self, kind: str, payload: JSON) -> None:
        self._updates.append({"update_id": next(self._update_ids), kind: copy.deepcopy(payload)})
        self._cond.notify_all()

    def _register_user(self, user_id: int, username: str | None) -> JSON:
        user: JSON = {
            "id": user_id,
            "is_bot": False,
            "first_name": username.capitalize() if username else f"User{user_id}",
            "language_code": "en",
        }
        if username:
            user["username"] = username
        self._users[user_id] = user
        return user

    def _register_chat(self, chat_id: int, chat_type: str, username: str | None) -> JSON:
        chat: JSON = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = username.capitalize() if username else f"User{chat_id}"
            if username:
                chat["username"] = username
        else:
            chat["title"] = f"Test {chat_type} {chat_id}"
        self._chats[chat_id] = chat
        return chat

    def _chat(self, chat_id: int) -> JSON:
        known = self._chats.get(chat_id)
        if known is not None:
            return dict(known)
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        if str(chat_id).startswith("-100"):
            return {"id": chat_id, "type": "supergroup", "title": f"Chat {chat_id}"}
        return {"id": chat_id, "type": "group", "title": f"Chat {chat_id}"}

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        if isinstance(scope, str):
            with contextlib.suppress(ValueError):
                scope = json.loads(scope)
        if not scope:
            scope = {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    # ---------------------------------------------------------------- internals: HTTP

    def _handle_http(self, raw_path: str, content_type: str, body: bytes) -> tuple[int, JSON]:
        split = urlsplit(raw_path)
        match = _PATH_RE.fullmatch(split.path)
        method = match.group(2) if match else ""
        parse_error: TelegramAPIError | None = None
        try:
            params = _parse_params(split.query, content_type, body)
        except TelegramAPIError as err:
            params, parse_error = {}, err
        with self._cond:
            self.calls.append((method, params))
            self._cond.notify_all()
        try:
            if match is None:
                raise TelegramAPIError(404, "Not Found")
            if match.group(1) != self.token:
                raise TelegramAPIError(401, "Unauthorized")
            if parse_error is not None:
                raise parse_error
            handler = self._methods.get(method.lower())
            if handler is None:
                raise TelegramAPIError(404, "Not Found: method not found")
            result = handler(params)
        except TelegramAPIError as err:
            return err.status, err.payload()
        except Exception as exc:  # a bug in the fake itself: make it visible
            description = f"Internal Server Error: FakeBotAPI failed on {method}: {exc!r}"
            with self._cond:
                self.server_errors.append(description)
            return 500, {"ok": False, "error_code": 500, "description": description}
        return 200, {"ok": True, "result": result}

    # ---------------------------------------------------------------- internals: validation

    @staticmethod
    def _render_text(params: Mapping[str, Any]) -> tuple[str, list[JSON]]:
        text = params.get("text")
        if text is None or text == "":
            raise _bad_request("message text is empty")
        text = str(text)
        parse_mode = params.get("parse_mode")
        mode = str(parse_mode).lower() if parse_mode else ""
        entities: list[JSON] = []
        if mode == "html":
            try:
                plain, entities = parse_html(text)
            except HTMLParseError as err:
                raise _bad_request(f"can't parse entities: {err}") from err
        elif mode in ("", "markdown", "markdownv2"):
            # Markdown flavours are accepted verbatim, without validation or entities.
            plain = text
            explicit = params.get("entities")
            if mode == "" and isinstance(explicit, list):
                entities = [e for e in explicit if isinstance(e, dict)]
        else:
            raise _bad_request("unsupported parse_mode")
        if not plain.strip():
            raise _bad_request("message text is empty")
        if utf16_len(plain) > MAX_MESSAGE_LENGTH:
            raise _bad_request("message is too long")
        return plain, entities

    @staticmethod
    def _validate_button(button: Any) -> None:
        prefix = "can't parse inline keyboard button: "
        if not isinstance(button, dict):
            raise _bad_request(prefix + "InlineKeyboardButton must be an Object")
        if not isinstance(button.get("text"), str):
            raise _bad_request(prefix + 'Field "text" must be of type String')
        if not button["text"].strip():
            raise _bad_request("BUTTON_TEXT_INVALID")
        kinds = [kind for kind in _BUTTON_KINDS if kind in button]
        if not kinds:
            raise _bad_request(prefix + "Text buttons are unallowed in the inline keyboard")
        if len(kinds) > 1:
            raise _bad_request(prefix + f"exactly one of {kinds!r} must be specified")
        if "callback_data" in button:
            data = button["callback_data"]
            if (
                not isinstance(data, str)
                or not data
                or len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES
            ):
                raise _bad_request("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not url.strip() or any(c.isspace() for c in url):
                raise _bad_request("BUTTON_URL_INVALID")

    def _validate_markup(self, value: Any, *, inline_only: bool) -> JSON | None:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise TelegramAPIError(400, _KEYBOARD_JSON_INVALID) from exc
        if not isinstance(value, dict):
            raise TelegramAPIError(400, _KEYBOARD_JSON_INVALID)
        if "inline_keyboard" in value:
            rows = value["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad_request('field "inline_keyboard" must be an Array of Arrays')
            for row in rows:
                for button in row:
                    self._validate_button(button)
            return {"inline_keyboard": copy.deepcopy(rows)}
        if inline_only:
            raise _bad_request("inline keyboard expected")
        if any(key in value for key in ("keyboard", "remove_keyboard", "force_reply")):
            return copy.deepcopy(value)
        raise TelegramAPIError(400, _KEYBOARD_JSON_INVALID)

    # ---------------------------------------------------------------- API methods

    def _m_true(self, params: JSON) -> bool:
        return True

    def _m_get_me(self, params: JSON) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_get_updates(self, params: JSON) -> list[JSON]:
        offset = _int_param(params, "offset", 0)
        limit = min(max(_int_param(params, "limit", 100), 1), 100)
        timeout = min(max(float(_int_param(params, "timeout", 0)), 0.0), MAX_LONG_POLL_SECONDS)
        allowed = params.get("allowed_updates")
        deadline = time.monotonic() + timeout
        with self._cond:
            if isinstance(allowed, list):
                self._allowed_updates = (
                    frozenset(str(a) for a in allowed) if allowed else _DEFAULT_UPDATE_TYPES
                )
            if offset < 0:
                self._updates = self._updates[offset:]
            elif offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._cond.notify_all()
            while True:
                batch = [
                    u
                    for u in self._updates
                    if next(k for k in u if k != "update_id") in self._allowed_updates
                ][:limit]
                remaining = deadline - time.monotonic()
                if batch or self._stopping or remaining <= 0:
                    return copy.deepcopy(batch)
                self._cond.wait(remaining)

    def _m_delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates") is True:
            with self._cond:
                self._updates.clear()
                self._cond.notify_all()
        return True

    def _m_get_webhook_info(self, params: JSON) -> JSON:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    def _m_set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if isinstance(commands, str):
            try:
                commands = json.loads(commands)
            except ValueError as exc:
                raise _bad_request("can't parse commands JSON object") from exc
        if not isinstance(commands, list):
            raise _bad_request('field "commands" must be an Array')
        if len(commands) > 100:
            raise _bad_request("too many commands")
        for command in commands:
            if not isinstance(command, dict) or not re.fullmatch(
                r"[a-z0-9_]{1,32}", str(command.get("command", ""))
            ):
                raise _bad_request("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise _bad_request("command description is empty or too long")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        with self._cond:
            self._commands[key] = copy.deepcopy(commands)
            self.my_commands = copy.deepcopy(commands)
            self._cond.notify_all()
        return True

    def _m_get_my_commands(self, params: JSON) -> list[JSON]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        with self._cond:
            return copy.deepcopy(self._commands.get(key, []))

    def _m_delete_my_commands(self, params: JSON) -> bool:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        with self._cond:
            self._commands.pop(key, None)
            self.my_commands = []
        return True

    def _m_send_message(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        with self._cond:
            self._check_injections(chat_id)
            if chat_id in self._blocked:
                raise TelegramAPIError(403, "Forbidden: bot was blocked by the user")
            if self._chat(chat_id)["type"] == "channel" and self.bot_id not in self._admins.get(
                chat_id, set()
            ):
                raise TelegramAPIError(403, "Forbidden: bot is not a member of the channel chat")
        plain, entities = self._render_text(params)
        markup = self._validate_markup(params.get("reply_markup"), inline_only=False)
        reply_parameters = params.get("reply_parameters")
        reply_to = params.get("reply_to_message_id")
        allow_without_reply = params.get("allow_sending_without_reply") is True
        if isinstance(reply_parameters, dict):
            reply_to = reply_parameters.get("message_id")
            allow_without_reply = reply_parameters.get("allow_sending_without_reply") is True
        with self._cond:
            reply_message: JSON | None = None
            if reply_to is not None:
                reply_message = self._messages.get((chat_id, _int_param({"m": reply_to}, "m")))
                if reply_message is None and not allow_without_reply:
                    raise _bad_request("message to be replied not found")
            self._take_rate_token(chat_id)
            now = int(time.time())
            message: JSON = {
                "message_id": self._next_message_id(chat_id),
                "from": self._bot_user(),
                "chat": self._chat(chat_id),
                "date": now,
                "text": plain,
            }
            if entities:
                message["entities"] = entities
            if markup is not None and "inline_keyboard" in markup:
                message["reply_markup"] = markup
            if reply_message is not None:
                message["reply_to_message"] = copy.deepcopy(reply_message)
            self._messages[(chat_id, message["message_id"])] = message
            record: JSON = {
                "parse_mode": None,
                "reply_markup": None,
                "disable_web_page_preview": None,
                "link_preview_options": None,
                **params,
                "chat_id": chat_id,
                "message_id": message["message_id"],
                "date": now,
                "text": params["text"],
                "plain_text": plain,
                "entities": entities,
                "message": copy.deepcopy(message),
            }
            if markup is not None:
                record["reply_markup"] = markup
            self.sent.append(record)
            self._cond.notify_all()
            return copy.deepcopy(message)

    def _m_get_file(self, params: JSON) -> JSON:
        file_id = str(params.get("file_id") or "")
        with self._cond:
            data = self._files.get(file_id)
        if data is None:
            raise _bad_request("invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(data),
            "file_path": f"documents/{file_id}",
        }

    def _m_send_document(self, params: JSON) -> JSON:
        """Records the document (``document`` holds filename, content_type and content)."""
        chat_id = self._chat_id(params)
        document = params.get("document")
        if not isinstance(document, dict) or not document.get("content"):
            raise _bad_request("there is no document in the request")
        with self._cond:
            self._check_injections(chat_id)
            self._take_rate_token(chat_id)
            now = int(time.time())
            message: JSON = {
                "message_id": self._next_message_id(chat_id),
                "from": self._bot_user(),
                "chat": self._chat(chat_id),
                "date": now,
                "document": {
                    "file_id": f"sent{len(self.sent)}",
                    "file_unique_id": f"usent{len(self.sent)}",
                    "file_name": document.get("filename"),
                    "file_size": len(document["content"]),
                },
            }
            caption = params.get("caption")
            if caption:
                message["caption"] = caption
            self._messages[(chat_id, message["message_id"])] = message
            self.sent.append(
                {
                    "chat_id": chat_id,
                    "message_id": message["message_id"],
                    "date": now,
                    "text": caption or "",
                    "plain_text": caption or "",
                    "document": document,
                    "message": copy.deepcopy(message),
                }
            )
            self._cond.notify_all()
            return copy.deepcopy(message)

    def _edit_target(self, params: JSON) -> tuple[int, int, JSON]:
        # caller holds the lock
        chat_id = self._chat_id(params)
        message_id = _int_param(params, "message_id")
        if chat_id in self._blocked:
            raise TelegramAPIError(403, "Forbidden: bot was blocked by the user")
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise _bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise _bad_request("message can't be edited")
        return chat_id, message_id, message

    def _m_edit_message_text(self, params: JSON) -> JSON | bool:
        plain, entities = self._render_text(params)
        markup = self._validate_markup(params.get("reply_markup"), inline_only=True)
        with self._cond:
            if params.get("inline_message_id"):
                self.edits.append({"method": "editMessageText", **params, "plain_text": plain})
                self._cond.notify_all()
                return True
            chat_id, message_id, message = self._edit_target(params)
            if (
                message.get("text") == plain
                and message.get("entities", []) == entities
                and message.get("reply_markup") == markup
            ):
                raise TelegramAPIError(400, _NOT_MODIFIED)
            edited: JSON = {**message, "text": plain, "edit_date": int(time.time())}
            edited.pop("entities", None)
            edited.pop("reply_markup", None)
            if entities:
                edited["entities"] = entities
            if markup is not None:
                edited["reply_markup"] = markup
            self._messages[(chat_id, message_id)] = edited
            self.edits.append(
                {
                    "method": "editMessageText",
                    "parse_mode": None,
                    **params,
                    "chat_id": chat_id,
                    "message_id": message_id,
                    "plain_text": plain,
                    "entities": entities,
                    "reply_markup": markup,
                }
            )
            self._cond.notify_all()
            return copy.deepcopy(edited)

    def _m_edit_message_reply_markup(self, params: JSON) -> JSON | bool:
        markup = self._validate_markup(params.get("reply_markup"), inline_only=True)
        with self._cond:
            if params.get("inline_message_id"):
                self.edits.append({"method": "editMessageReplyMarkup", **params})
                self._cond.notify_all()
                return True
            chat_id, message_id, message = self._edit_target(params)
            if message.get("reply_markup") == markup:
                raise TelegramAPIError(400, _NOT_MODIFIED)
            edited: JSON = {**message, "edit_date": int(time.time())}
            edited.pop("reply_markup", None)
            if markup is not None:
                edited["reply_markup"] = markup
            self._messages[(chat_id, message_id)] = edited
            self.edits.append(
                {
                    "method": "editMessageReplyMarkup",
                    **params,
                    "chat_id": chat_id,
                    "message_id": message_id,
                    "reply_markup": markup,
                }
            )
            self._cond.notify_all()
            return copy.deepcopy(edited)

    def _m_delete_message(self, params: JSON) -> bool:
        chat_id = self._chat_id(params)
        message_id = _int_param(params, "message_id")
        with self._cond:
            if self._messages.pop((chat_id, message_id), None) is None:
                raise _bad_request("message to delete not found")
        return True

    def _m_answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        text = params.get("text")
        with self._cond:
            if query_id not in self._callback_queries or query_id in self._answered_ids:
                raise TelegramAPIError(400, _QUERY_INVALID)
            if isinstance(text, str) and len(text) > 200:
                raise _bad_request("MESSAGE_TOO_LONG")
            self._answered_ids.add(query_id)
            self.answered_callbacks.append({**params, "callback_query_id": query_id})
            self._cond.notify_all()
        return True

    def _m_send_chat_action(self, params: JSON) -> bool:
        chat_id = self._chat_id(params)
        with self._cond:
            if chat_id in self._blocked:
                raise TelegramAPIError(403, "Forbidden: bot was blocked by the user")
        return True

    def _m_get_chat(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        with self._cond:
            chat = self._chat(chat_id)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _member(self, chat_id: int, user_id: int) -> JSON:
        # caller holds the lock
        if user_id == self.bot_id:
            user = self._bot_user()
        else:
            default: JSON = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
            user = dict(self._users.get(user_id) or default)
        if user_id not in self._admins.get(chat_id, set()):
            return {"status": "member", "user": user}
        return {
            "status": "administrator",
            "user": user,
            "can_be_edited": False,
            "is_anonymous": False,
            "can_manage_chat": True,
            "can_delete_messages": True,
            "can_manage_video_chats": True,
            "can_restrict_members": True,
            "can_promote_members": False,
            "can_change_info": True,
            "can_invite_users": True,
            "can_post_stories": False,
            "can_edit_stories": False,
            "can_delete_stories": False,
            "can_pin_messages": True,
            "can_manage_topics": False,
            **({"can_post_messages": True} if self._chat(chat_id)["type"] == "channel" else {}),
        }

    def _m_get_chat_member(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        user_id = _int_param(params, "user_id")
        with self._cond:
            return self._member(chat_id, user_id)

    def _m_get_chat_administrators(self, params: JSON) -> list[JSON]:
        chat_id = self._chat_id(params)
        with self._cond:
            if self._chat(chat_id)["type"] == "private":
                raise _bad_request("there are no administrators in the private chat")
            return [self._member(chat_id, uid) for uid in sorted(self._admins.get(chat_id, ()))]
