"""The bot token never reaches the logs, errors or the database, whatever its case.

python-telegram-bot capitalizes an error description (and so lowercases the rest of it): a
server that echoes the token in an error once escaped a case-sensitive redaction and reached
the log 20 times and ``deliveries.last_error``.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telegram import Bot

from bot.logsetup import RedactingFilter
from bot.notify.telegram import TelegramNotifier
from bot.redact import Redactor
from bot.storage.sqlite import SQLiteStore
from tests.factories import isis_items, outbox_pipeline
from tests.fakebotapi import FakeBotAPI

TOKEN = "000000:not-a-real-token-only-for-the-tests"


@pytest.mark.parametrize(
    "text",
    [TOKEN, TOKEN.lower(), TOKEN.upper(), f"bot{TOKEN.lower()}/sendMessage", TOKEN.split(":")[1]],
)
def test_every_case_of_the_token_is_hidden(text: str) -> None:
    redact = Redactor([TOKEN])
    out = redact(f"error from https://api/{text} here")
    assert TOKEN.split(":")[1].lower() not in out.lower()
    assert "***" in out and out.startswith("error from") and out.endswith(" here")


def test_the_log_filter_hides_a_lowercased_token_in_messages_and_tracebacks() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "said %s", (TOKEN.lower(),), None)
    try:
        raise RuntimeError(f"boom {TOKEN.swapcase()}")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    RedactingFilter([TOKEN]).filter(record)
    assert record.getMessage() == "said ***"
    assert record.exc_text is not None and "boom ***" in record.exc_text
    assert TOKEN.split(":")[1].lower() not in record.exc_text.lower()


async def test_a_token_echoed_by_the_bot_api_reaches_neither_log_nor_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeBotAPI() as fake:
        bot = Bot(fake.token, base_url=fake.base_url)
        await bot.initialize()
        store = SQLiteStore(tmp_path / "newsbot.sqlite3")
        now = datetime.now(UTC)
        store.upsert_chat(5, "private", "", now)
        store.subscribe(5, "isis", now)
        pipeline = outbox_pipeline(store, {"telegram": TelegramNotifier(bot)})
        pipeline.ingest(isis_items(1, now))
        fake.fail_next_with(f"Bad Request: chat not allowed for bot{fake.token}", count=1)
        # No log filter here: httpx logs request URLs, token and all (the service's handler
        # masks those); newsbot's own messages must not need it.
        with caplog.at_level(logging.DEBUG):
            report = await pipeline.deliver_pending()
        await bot.shutdown()
        secret = fake.token.split(":", 1)[1].lower()
        assert report.failed == 1  # the refusal was seen, and recorded
        [(error,)] = (
            sqlite3.connect(store.path).execute("SELECT last_error FROM deliveries").fetchall()
        )
        assert error.startswith("Telegram refused") and "***" in error
        assert secret not in error.lower()
        own = [r.getMessage() for r in caplog.records if r.name.startswith("bot")]
        assert any("alert not sent" in m and "***" in m for m in own)
        assert not any(secret in m.lower() for m in own)
        store.close()
