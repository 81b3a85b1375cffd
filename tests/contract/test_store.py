"""The storage contract: one suite, run against every backend.

Each test takes the ``store`` fixture, which is parametrized over every implementation of
:class:`bot.storage.base.Store` (the in-memory reference, SQLite on a file, SQLite in memory);
a new backend (PostgreSQL) adds one entry to :data:`BACKENDS` and must pass all of it. The
tests are grouped by role: feed states, items, deliveries, the outbox, chats, reports. What
only SQLite has (migrations, file faults, WAL) is tested in ``tests/test_storage*.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.models import (
    BROADCAST_SOURCE,
    DocumentFingerprint,
    FeedConfig,
    FeedState,
    Match,
    ModelScore,
    OutgoingMessage,
    Watch,
)
from bot.routing import Tuning
from bot.storage.base import CLAIM_TTL, CONSOLE_CHAT_ID, NewItem, Store
from bot.storage.memory import MemoryStore
from bot.storage.sqlite import SQLiteStore
from tests.factories import T0, item, match

BACKENDS: dict[str, Callable[[Path], Store]] = {
    "memory": lambda tmp: MemoryStore(),
    "sqlite": lambda tmp: SQLiteStore(tmp / "data" / "newsbot.sqlite3"),
    "sqlite-in-memory": lambda tmp: SQLiteStore(":memory:"),  # what dry runs work on
}

H = timedelta(hours=1)


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = BACKENDS[request.param](tmp_path)
    yield s
    s.close()


def _subscribed(store: Store, chat_id: int, *topics: str, kind: str = "private") -> None:
    store.upsert_chat(chat_id, kind, f"chat {chat_id}", T0)
    for topic in topics:
        store.subscribe(chat_id, topic, T0)


def _news(
    title: str,
    *topics: str,
    story: str = "",
    material: bool = True,
    source_name: str = "Test feed",
    **kw: object,
) -> NewItem:
    found = replace(item(title, **kw), story=story, source_name=source_name)  # type: ignore[arg-type]
    return NewItem(found, f"summary of {title}", tuple(match(t) for t in topics), material)


def _message(text: str) -> OutgoingMessage:
    return OutgoingMessage(f"<b>{text}</b>", text, ((("Open", f"open:{text}"),),), previews=True)


# ====================================================================== feed states


def test_feed_state_round_trip(store: Store) -> None:
    url = "http://127.0.0.1/feed.xml"
    assert store.feed_state(url) == FeedState(url=url)
    state = FeedState(
        url=url,
        etag='"abc"',
        last_modified="Tue, 17 Sep 2024 08:00:00 GMT",
        body_hash="h",
        last_status=200,
        error_count=2,
        last_error="x",
        last_success_at=T0,
        last_checked_at=T0,
        next_poll_at=T0,
        error_kind="http",
        down_notified=True,
        retired=False,
        moved_to="http://127.0.0.1/new.xml",
        interval=600,
    )
    store.save_feed_state(state)
    assert store.feed_state(url) == state
    assert [s.url for s in store.feed_states()] == [url]


def test_a_saved_feed_state_is_a_copy(store: Store) -> None:
    state = FeedState(url="http://127.0.0.1/a")
    store.save_feed_state(state)
    state.error_count = 5
    assert store.feed_state(state.url).error_count == 0
    store.feed_state(state.url).error_count = 7
    assert store.feed_state(state.url).error_count == 0


def test_feed_states_are_listed_by_url_and_can_be_forgotten(store: Store) -> None:
    for url in ("http://127.0.0.1/b", "http://127.0.0.1/a"):
        store.save_feed_state(FeedState(url=url, error_count=1))
    assert [s.url for s in store.feed_states()] == ["http://127.0.0.1/a", "http://127.0.0.1/b"]
    store.forget_feed("http://127.0.0.1/a")
    assert [s.url for s in store.feed_states()] == ["http://127.0.0.1/b"]
    assert store.feed_state("http://127.0.0.1/a") == FeedState(url="http://127.0.0.1/a")


def test_added_feeds_oldest_first_and_public_only_unless_the_operator_added_them(
    store: Store,
) -> None:
    assert store.add_feed(FeedConfig("http://127.0.0.1/late", "Late", 600), 42, T0 + H) is True
    assert store.add_feed(FeedConfig("http://127.0.0.1/early"), 0, T0) is True
    assert store.add_feed(FeedConfig("http://127.0.0.1/early", "again"), 5, T0) is False
    assert store.added_feeds() == [
        FeedConfig("http://127.0.0.1/early", None, 300, added=True, public_only=False),
        FeedConfig("http://127.0.0.1/late", "Late", 600, added=True, public_only=True),
    ]


def test_removing_an_added_feed_forgets_its_state(store: Store) -> None:
    url = "http://127.0.0.1/f"
    store.add_feed(FeedConfig(url), 1, T0)
    store.save_feed_state(FeedState(url=url, error_count=3))
    assert store.remove_feed(url) is True
    assert store.remove_feed(url) is False
    assert store.added_feeds() == []
    assert store.feed_state(url) == FeedState(url=url)


def test_removing_a_feed_never_added_keeps_its_state(store: Store) -> None:
    url = "http://127.0.0.1/config"
    store.save_feed_state(FeedState(url=url, error_count=3))
    assert store.remove_feed(url) is False
    assert store.feed_state(url).error_count == 3


def test_document_fingerprints_are_replaced_by_path(store: Store) -> None:
    assert store.document_fingerprints() == {}
    store.save_fingerprints(
        [DocumentFingerprint("a.txt", 1, 2, "x"), DocumentFingerprint("b", 3, 4, "y")]
    )
    store.save_fingerprints([DocumentFingerprint("a.txt", 5, 6, "z")])
    assert store.document_fingerprints() == {
        "a.txt": DocumentFingerprint("a.txt", 5, 6, "z"),
        "b": DocumentFingerprint("b", 3, 4, "y"),
    }


# ====================================================================== items and routing


def test_add_items_creates_one_delivery_per_subscribed_chat(store: Store) -> None:
    _subscribed(store, 1, "isis")
    _subscribed(store, 2, "isis", "troop-withdrawal")
    _subscribed(store, 3, "other")
    news = NewItem(item("ISIS attack"), "s", (match("isis"), match("troop-withdrawal")))
    stored, deliveries = store.add_items([news], T0)
    assert (stored, deliveries) == (1, 2)
    pending = store.pending(T0)
    assert sorted(t.chat_id for t in pending) == [1, 2]
    by_chat = {t.chat_id: [m.topic_id for m in t.matches] for t in pending}
    assert by_chat == {1: ["isis"], 2: ["isis", "troop-withdrawal"]}


def test_an_item_is_stored_once_and_never_delivered_twice(store: Store) -> None:
    _subscribed(store, 1, "isis")
    news = NewItem(item("ISIS attack"), "s", (match("isis"),))
    assert store.add_items([news], T0) == (1, 1)
    assert store.add_items([news], T0 + H) == (0, 0)
    [task] = store.pending(T0 + H)
    store.mark_sent(task.item.key, 1, 77, T0)
    assert store.pending(T0 + timedelta(days=1)) == []
    assert store.known_keys([news.item.key, "other"]) == {news.item.key}


def test_the_same_key_twice_in_one_batch_is_stored_once(store: Store) -> None:
    _subscribed(store, 1, "isis")
    news = _news("ISIS attack", "isis")
    assert store.add_items([news, news], T0) == (1, 1)


def test_items_without_matches_are_remembered_but_not_delivered(store: Store) -> None:
    _subscribed(store, 1, "isis")
    quiet = NewItem(item("Football results"), "s", ())
    assert store.add_items([quiet], T0) == (1, 0)
    assert store.known_keys([quiet.item.key]) == {quiet.item.key}
    assert store.pending(T0) == []


def test_item_round_trips_with_its_fields(store: Store) -> None:
    _subscribed(store, 1, "isis")
    original = item("ISIS <b>attack</b>", "Body text here", link="https://ex.org/a?utm_source=x")
    store.add_items([NewItem(original, "summary", (match("isis"),))], T0)
    [task] = store.pending(T0)
    assert task.item == original
    assert task.summary == "summary"
    assert task.matches == (match("isis"),)


def test_a_date_only_item_round_trips(store: Store) -> None:
    _subscribed(store, 1, "isis")
    original = replace(item("ISIS dated"), date_only=True)
    store.add_items([NewItem(original, "", (match("isis"),))], T0)
    [task] = store.pending(T0)
    assert task.item.date_only is True and task.item == original


def test_digest_mode_gets_no_alert(store: Store) -> None:
    _subscribed(store, 1, "isis")
    _subscribed(store, 2, "isis")
    assert store.set_mode(1, "isis", "digest") is True
    assert store.add_items([_news("ISIS a", "isis")], T0) == (1, 1)
    assert [t.chat_id for t in store.pending(T0)] == [2]


def test_a_muted_topic_gets_no_alert_until_the_mute_ends(store: Store) -> None:
    _subscribed(store, 1, "isis")
    store.mute(1, "isis", T0 + H)
    assert store.add_items([_news("ISIS a", "isis")], T0) == (1, 0)
    assert store.add_items([_news("ISIS b", "isis")], T0 + H) == (1, 1)
    assert [t.item.title for t in store.pending(T0 + H)] == ["ISIS b"]


def test_a_muted_story_gets_no_alert(store: Store) -> None:
    _subscribed(store, 1, "isis")
    _subscribed(store, 2, "isis")
    store.mute(1, "story:s1", T0 + H)
    store.add_items([_news("ISIS a", "isis", story="s1"), _news("ISIS b", "isis", story="s2")], T0)
    by_chat = sorted((t.chat_id, t.item.title) for t in store.pending(T0))
    assert by_chat == [(1, "ISIS b"), (2, "ISIS a"), (2, "ISIS b")]


def test_an_urgent_topic_makes_the_alert_urgent_and_first(store: Store) -> None:
    _subscribed(store, 1, "isis", "troops")
    assert store.set_urgent(1, "troops", True) is True
    store.add_items([_news("ISIS calm", "isis")], T0)
    store.add_items([_news("Troops now", "troops")], T0 + timedelta(seconds=1))
    pending = store.pending(T0 + H)
    assert [(t.item.title, t.urgent) for t in pending] == [
        ("Troops now", True),
        ("ISIS calm", False),
    ]


def test_a_story_update_edits_the_alert_of_the_story(store: Store) -> None:
    _subscribed(store, 1, "isis")
    store.add_items([_news("ISIS first", "isis", story="s1", source_name="A")], T0)
    [head] = store.pending(T0)
    store.mark_sent(head.item.key, 1, 500, T0)
    update = _news("ISIS again", "isis", story="s1", material=False, source="http://127.0.0.1/b")
    assert store.add_items([update], T0 + H) == (1, 1)
    [task] = store.pending(T0 + H)
    assert (task.edit_of, task.edit_message_id, task.head_sent) == (head.item_ref, 500, True)
    assert store.mark_edited(1, head.item_ref, 500, T0 + H) == 1
    assert store.pending(T0 + H) == []
    assert store.mark_edited(1, head.item_ref, 500, T0 + H) == 0


def test_a_story_update_before_its_alert_went_out_edits_the_pending_one(store: Store) -> None:
    _subscribed(store, 1, "isis")
    first = _news("ISIS first", "isis", story="s1")
    store.add_items([first, _news("ISIS again", "isis", story="s1", material=False)], T0)
    tasks = {t.item.title: t for t in store.pending(T0)}
    head = tasks["ISIS first"]
    assert head.edit_of is None
    update = tasks["ISIS again"]
    assert (update.edit_of, update.edit_message_id, update.head_sent) == (
        head.item_ref,
        None,
        False,
    )


def test_a_dropped_alert_is_no_head(store: Store) -> None:
    _subscribed(store, 1, "isis")
    store.add_items([_news("ISIS first", "isis", story="s1")], T0)
    store.deactivate_chat(1, "blocked")
    store.upsert_chat(1, "private", "back", T0)
    store.add_items([_news("ISIS again", "isis", story="s1", material=False)], T0)
    [task] = store.pending(T0)
    assert task.item.title == "ISIS again" and task.edit_of is None


def test_news_for_a_story_is_a_new_alert(store: Store) -> None:
    _subscribed(store, 1, "isis")
    store.add_items([_news("ISIS first", "isis", story="s1")], T0)
    store.add_items([_news("ISIS news", "isis", story="s1", material=True)], T0)
    assert [t.edit_of for t in store.pending(T0)] == [None, None]


def test_a_watch_is_a_subscription_of_its_chat(store: Store) -> None:
    store.upsert_chat(1, "private", "", T0)
    watch = Watch(1, "mine", "ISIS")
    store.add_watch(watch, T0)
    store.subscribe(1, watch.topic_id, T0)
    _subscribed(store, 2, "isis")
    store.add_items([_news("ISIS a", watch.topic_id)], T0)
    assert [(t.chat_id, t.matches[0].topic_id) for t in store.pending(T0)] == [(1, "watch:1:mine")]


def test_a_broadcast_goes_to_every_active_chat_but_the_console(store: Store) -> None:
    store.upsert_chat(CONSOLE_CHAT_ID, "console", "console", T0)
    _subscribed(store, 1)
    _subscribed(store, -100, kind="channel")
    _subscribed(store, 2)
    store.deactivate_chat(2, "blocked")
    announcement = replace(item("Maintenance tonight", "down at 22:00"), source=BROADCAST_SOURCE)
    assert store.add_broadcast(announcement, T0) == 2
    pending = store.pending(T0)
    assert sorted(t.chat_id for t in pending) == [-100, 1]
    assert {(t.item.title, t.item.text, t.matches) for t in pending} == {
        ("Maintenance tonight", "down at 22:00", ())
    }
    assert store.items_since(T0 - H) == []  # announcements are no news to test queries on


def test_story_items_and_sources_first_published_first(store: Store) -> None:
    late = _news("ISIS late", story="s1", published=T0 + H, source_name="Late")
    store.add_items(
        [
            late,
            _news("ISIS early", story="s1", published=T0),
            _news("ISIS again", story="s1", published=T0 + 2 * H),
            _news("Other", story="s2"),
        ],
        T0,
    )
    assert [i.title for i in store.story_items("s1")] == ["ISIS early", "ISIS late", "ISIS again"]
    assert [i.title for i in store.story_items("s1", limit=1)] == ["ISIS early"]
    assert store.story_items("") == []
    assert store.story_sources({"s1", "s2", "", "none"}) == {
        "s1": ("Test feed", "Late"),
        "s2": ("Test feed",),
    }


def test_item_story_of_a_stored_item(store: Store) -> None:
    _subscribed(store, 1, "isis")
    store.add_items([_news("ISIS a", "isis", story="s1"), _news("ISIS b", "isis")], T0)
    refs = {t.item.title: t.item_ref for t in store.pending(T0)}
    assert store.item_story(refs["ISIS a"]) == ("s1", "ISIS a")
    assert store.item_story(refs["ISIS b"]) is None
    assert store.item_story(9999) is None


def test_items_since_newest_first_or_by_publication_in_storing_order(store: Store) -> None:
    store.add_items([_news("old", published=T0 - 10 * H)], T0 - H)
    store.add_items([_news("a", published=T0 + H)], T0)
    store.add_items([_news("b", published=T0 - 2 * H)], T0 + H)
    store.add_items([_news("c", published=T0 + 2 * H)], T0 + 2 * H)
    assert [i.title for i in store.items_since(T0)] == ["c", "b", "a"]
    assert [i.title for i in store.items_since(T0, limit=2)] == ["c", "b"]
    assert [i.title for i in store.items_since(T0, published=True)] == ["a", "c"]
    assert [i.title for i in store.items_since(T0 - 5 * H, limit=2, published=True)] == ["b", "c"]


def test_recent_matches_newest_first(store: Store) -> None:
    for n in range(3):
        news = NewItem(item(f"ISIS {n}", published=T0 + timedelta(hours=n)), "s", (match("isis"),))
        store.add_items([news], T0)
    assert [e.item.title for e in store.recent_matches(["isis"], limit=2)] == ["ISIS 2", "ISIS 1"]
    assert store.recent_matches([]) == []


def test_digest_entries_cover_the_time_since_the_last_digest(store: Store) -> None:
    _subscribed(store, 1, "isis")
    store.add_items([NewItem(item("ISIS early"), "s", (match("isis"),))], T0 + H)
    store.set_last_digest(1, T0 + 2 * H)
    store.add_items([NewItem(item("ISIS late"), "s", (match("isis"),))], T0 + 3 * H)
    store.add_items([NewItem(item("Other"), "s", (match("other"),))], T0 + 3 * H)
    entries = store.digest_entries(1, T0 + 4 * H)
    assert [e.item.title for e in entries] == ["ISIS late"]


def test_digest_does_not_include_matches_from_before_the_subscription(store: Store) -> None:
    store.upsert_chat(1, "private", "", T0)
    store.add_items([NewItem(item("ISIS before"), "s", (match("isis"),))], T0)
    store.subscribe(1, "isis", T0 + H)
    assert store.digest_entries(1, T0 + 2 * H) == []


def test_digest_entries_by_topic_best_first_with_their_sources(store: Store) -> None:
    _subscribed(store, 1, "isis", "troops", "instant-only")
    store.set_mode(1, "instant-only", "instant")
    store.add_items(
        [
            NewItem(replace(item("ISIS weak"), story="s1"), "w", (match("isis", 1.0),)),
            NewItem(item("ISIS strong"), "s", (match("isis", 5.0), match("instant-only"))),
            NewItem(item("Troops"), "t", (match("troops", 2.0),)),
        ],
        T0 + H,
    )
    entries = store.digest_entries(1, T0 + H)
    assert [(e.topic_id, e.item.title, e.score) for e in entries] == [
        ("isis", "ISIS strong", 5.0),
        ("isis", "ISIS weak", 1.0),
        ("troops", "Troops", 2.0),
    ]
    assert [e.sources for e in entries] == [(), ("Test feed",), ()]
    assert entries[0].summary == "s" and entries[0].matched_at == T0 + H
    assert store.digest_entries(1, T0) == []  # nothing matched by then


def test_alerted_stories_when_the_chat_last_got_an_alert_of_each(store: Store) -> None:
    _subscribed(store, 1, "isis")
    store.add_items([_news("ISIS a", "isis", story="s1"), _news("ISIS b", "isis", story="s1")], T0)
    store.add_items([_news("ISIS c", "isis", story="s2")], T0)
    store.add_items([_news("ISIS d", "isis", story="s1", material=False)], T0)
    tasks = {t.item.title: t for t in store.pending(T0)}
    store.mark_sent(tasks["ISIS a"].item.key, 1, 1, T0 + H)
    store.mark_sent(tasks["ISIS b"].item.key, 1, 2, T0 + 2 * H)
    store.mark_edited(1, tasks["ISIS b"].item_ref, 2, T0 + 3 * H)  # an edit is no alert
    assert store.alerted_stories(1, {"s1", "s2", ""}) == {"s1": T0 + 2 * H}
    assert store.alerted_stories(2, {"s1"}) == {}


def test_feedback_is_one_value_per_chat_and_item(store: Store) -> None:
    _subscribed(store, 1, "isis")
    _subscribed(store, 2, "isis")
    store.add_items([_news("ISIS a", "isis")], T0)
    ref = store.pending(T0)[0].item_ref
    assert store.set_feedback(1, ref, 1, T0) is True
    assert store.set_feedback(1, ref, -1, T0) is True
    assert store.set_feedback(2, ref, -1, T0) is True
    assert store.set_feedback(2, 9999, 1, T0) is False
    assert store.feedback_counts() == (0, 2)


# ====================================================================== deliveries


def test_failed_delivery_waits_until_retry_time(store: Store) -> None:
    _subscribed(store, 1, "isis")
    news = NewItem(item("ISIS attack"), "s", (match("isis"),))
    store.add_items([news], T0)
    store.mark_failed(news.item.key, 1, "boom", T0 + timedelta(minutes=5))
    assert store.pending(T0 + timedelta(minutes=4)) == []
    [task] = store.pending(T0 + timedelta(minutes=5))
    assert task.attempts == 1


def test_pending_oldest_first_up_to_the_limit(store: Store) -> None:
    _subscribed(store, 1, "isis")
    for n in range(3):
        store.add_items([_news(f"ISIS {n}", "isis")], T0 + timedelta(seconds=n))
    assert [t.item.title for t in store.pending(T0 + H, limit=2)] == ["ISIS 0", "ISIS 1"]
    assert [t.item.title for t in store.pending(T0 + timedelta(seconds=1))] == ["ISIS 0", "ISIS 1"]


def test_pending_carries_the_chat_settings(store: Store) -> None:
    _subscribed(store, 1, "isis")
    store.update_chat(
        1,
        {"timezone": "Europe/Kyiv", "previews": True, "quiet_start": "22:00", "quiet_end": "07:00"},
    )
    store.add_items([_news("ISIS a", "isis")], T0)
    [task] = store.pending(T0)
    assert (task.chat_kind, task.chat_timezone, task.previews, task.quiet) == (
        "private",
        "Europe/Kyiv",
        True,
        ("22:00", "07:00"),
    )
    assert task.created_at == T0


def test_defer_chat_holds_only_that_chat(store: Store) -> None:
    _subscribed(store, 1, "isis")
    _subscribed(store, 2, "isis")
    store.add_items([NewItem(item("ISIS attack"), "s", (match("isis"),))], T0)
    store.defer_chat(1, T0 + timedelta(seconds=30))
    assert [t.chat_id for t in store.pending(T0)] == [2]
    assert sorted(t.chat_id for t in store.pending(T0 + timedelta(seconds=30))) == [1, 2]


def test_quiet_hours_hold_all_but_urgent_alerts_and_release_brings_them_back(store: Store) -> None:
    _subscribed(store, 1, "isis", "troops")
    store.set_urgent(1, "troops", True)
    store.add_items([_news("ISIS calm", "isis"), _news("Troops now", "troops")], T0)
    store.defer_chat(1, T0 + 8 * H, urgent=False)
    assert [t.item.title for t in store.pending(T0)] == ["Troops now"]
    store.defer_chat(1, T0 + 4 * H, urgent=False)  # never earlier than it was held
    assert [t.item.title for t in store.pending(T0 + 5 * H)] == ["Troops now"]
    assert store.release_chat(1, T0) == 1
    assert sorted(t.item.title for t in store.pending(T0)) == ["ISIS calm", "Troops now"]


def test_release_chat_leaves_retries_waiting(store: Store) -> None:
    _subscribed(store, 1, "isis")
    news = _news("ISIS a", "isis")
    store.add_items([news], T0)
    store.mark_failed(news.item.key, 1, "boom", T0 + H)
    assert store.release_chat(1, T0) == 0
    assert store.pending(T0) == []


def test_a_claim_holds_until_it_ends_or_grows_old(store: Store) -> None:
    _subscribed(store, 1, "isis")
    store.add_items([_news("ISIS a", "isis")], T0)
    [task] = store.pending(T0)
    assert store.claim(task.item_ref, 1, "me", T0) is True
    assert store.claim(task.item_ref, 1, "other", T0) is False
    assert store.pending(T0) == []
    assert store.claim(task.item_ref, 1, "other", T0 + CLAIM_TTL + timedelta(seconds=1)) is True
    store.mark_failed(task.item.key, 1, "boom", T0 + CLAIM_TTL)  # the claim ends
    assert store.claim(task.item_ref, 1, "me", T0 + CLAIM_TTL + timedelta(seconds=2)) is True
    store.mark_sent(task.item.key, 1, 5, T0 + H)
    assert store.claim(task.item_ref, 1, "me", T0 + 2 * H) is False  # sent: no longer pending
    assert store.claim(9999, 1, "me", T0) is False


def test_release_claims_ends_every_claim_but_the_owners(store: Store) -> None:
    _subscribed(store, 1, "isis")
    store.add_items([_news("ISIS a", "isis"), _news("ISIS b", "isis")], T0)
    a, b = store.pending(T0)
    (ref,) = store.queue_messages(1, "private", "reply", [_message("hi")], T0)
    assert store.claim(a.item_ref, 1, "old", T0)
    assert store.claim(b.item_ref, 1, "me", T0)
    assert store.claim_message(ref, "old", T0)
    assert store.release_claims("me") == 2
    assert [t.item.title for t in store.pending(T0)] == [a.item.title]
    assert [m.id for m in store.pending_messages(T0)] == [ref]


def test_recent_sends_remember_what_went_out_or_is_going(store: Store) -> None:
    _subscribed(store, 1, "isis")
    _subscribed(store, -5, "isis", kind="group")
    store.add_items([_news("ISIS a", "isis")], T0)
    tasks = {t.chat_id: t for t in store.pending(T0)}
    store.mark_sent(tasks[1].item.key, 1, 1, T0 + timedelta(seconds=1))
    store.claim(tasks[-5].item_ref, -5, "me", T0 + timedelta(seconds=2))
    refs = store.queue_messages(7, "private", "notice", [_message("a"), _message("b")], T0)
    store.message_sent(refs[0], 9, T0 + timedelta(seconds=3))
    store.claim_message(refs[1], "me", T0 + timedelta(seconds=4))
    assert store.recent_sends(T0) == [
        (1, "private", T0 + timedelta(seconds=1)),
        (-5, "group", T0 + timedelta(seconds=2)),
        (7, "private", T0 + timedelta(seconds=3)),
        (7, "private", T0 + timedelta(seconds=4)),
    ]
    assert store.recent_sends(T0 + timedelta(seconds=3)) == [
        (7, "private", T0 + timedelta(seconds=3)),
        (7, "private", T0 + timedelta(seconds=4)),
    ]


def test_pending_filters_by_chat_kind(store: Store) -> None:
    store.upsert_chat(CONSOLE_CHAT_ID, "console", "console", T0)
    store.subscribe(CONSOLE_CHAT_ID, "isis", T0)
    _subscribed(store, 5, "isis")
    store.add_items([NewItem(item("ISIS attack"), "s", (match("isis"),))], T0)
    assert [t.chat_id for t in store.pending(T0, kinds={"console"})] == [CONSOLE_CHAT_ID]
    assert [t.chat_id for t in store.pending(T0, kinds={"private"})] == [5]


def test_alert_for_message_finds_the_alert_that_went_out(store: Store) -> None:
    _subscribed(store, 1, "isis", "troops")
    store.add_items([_news("ISIS a", "isis", "troops", story="s1")], T0)
    [head] = store.pending(T0)
    store.mark_sent(head.item.key, 1, 77, T0)
    store.add_items([_news("ISIS b", "isis", story="s1", material=False)], T0)
    store.mark_edited(1, head.item_ref, 77, T0)
    found = store.alert_for_message(1, 77)
    assert found is not None
    assert (found.item.title, found.summary, found.attempts) == ("ISIS a", "summary of ISIS a", 1)
    assert [m.topic_id for m in found.matches] == ["isis", "troops"]
    assert store.alert_for_message(2, 77) is None
    assert store.alert_for_message(1, 78) is None


def test_deactivated_chat_gets_nothing_and_its_pending_alerts_are_dropped(store: Store) -> None:
    _subscribed(store, 1, "isis")
    store.add_items([NewItem(item("ISIS one"), "s", (match("isis"),))], T0)
    store.deactivate_chat(1, "blocked")
    store.add_items([NewItem(item("ISIS two"), "s", (match("isis"),))], T0)
    assert store.pending(T0 + timedelta(days=1)) == []
    chat = store.chat(1)
    assert chat is not None and not chat.active
    # /start again re-activates, and only new items go out.
    store.upsert_chat(1, "private", "back", T0)
    store.add_items([NewItem(item("ISIS three"), "s", (match("isis"),))], T0)
    assert [t.item.title for t in store.pending(T0)] == ["ISIS three"]


# ====================================================================== the outbox


def test_queued_messages_come_out_in_order_as_they_went_in(store: Store) -> None:
    store.upsert_chat(1, "private", "", T0)
    parts = [_message("one"), _message("two"), _message("three")]
    refs = store.queue_messages(1, "private", "digest", parts, T0)
    assert len(set(refs)) == 3
    queued = store.pending_messages(T0 + H)
    assert [(m.id, m.message, m.kind, m.chat_id, m.attempts) for m in queued] == [
        (ref, part, "digest", 1, 0) for ref, part in zip(refs, parts, strict=True)
    ]
    assert [m.message.plain for m in store.pending_messages(T0 + H, limit=2)] == ["one", "two"]
    assert store.message_status(refs) == dict.fromkeys(refs, "pending")


def test_a_digest_queued_sets_the_last_digest(store: Store) -> None:
    store.upsert_chat(1, "private", "", T0)
    store.queue_messages(1, "private", "digest", [_message("d")], T0, digest_until=T0 + H)
    chat = store.chat(1)
    assert chat is not None and chat.last_digest_at == T0 + H


def test_pending_messages_by_kind_of_chat_and_not_to_chats_gone(store: Store) -> None:
    store.upsert_chat(-5, "group", "", T0)
    store.upsert_chat(2, "private", "", T0)
    group = store.queue_messages(-5, "group", "notice", [_message("g")], T0)
    private = store.queue_messages(2, "private", "notice", [_message("p")], T0)
    unknown = store.queue_messages(3, "private", "reply", [_message("u")], T0)
    assert [m.id for m in store.pending_messages(T0, kinds={"group"})] == group
    assert [m.id for m in store.pending_messages(T0, kinds={"private"})] == private + unknown
    store.deactivate_chat(2, "blocked")
    assert [m.id for m in store.pending_messages(T0)] == group + unknown
    assert store.message_status(private) == {private[0]: "dropped"}


def test_message_claims_sends_and_failures(store: Store) -> None:
    a, b, c = store.queue_messages(1, "private", "reply", [_message(x) for x in "abc"], T0)
    assert store.claim_message(a, "me", T0) is True
    assert store.claim_message(a, "other", T0) is False
    assert store.claim_message(a, "other", T0 + CLAIM_TTL + timedelta(seconds=1)) is True
    store.message_sent(a, 10, T0 + H)
    assert store.claim_message(a, "me", T0 + 2 * H) is False
    store.message_failed(b, "429", T0 + H)
    assert [m.id for m in store.pending_messages(T0 + timedelta(seconds=1))] == [c]
    [again] = [m for m in store.pending_messages(T0 + H) if m.id == b]
    assert again.attempts == 1
    store.message_failed(c, "chat gone", None)
    assert store.message_status([a, b, c, 999]) == {a: "sent", b: "pending", c: "dropped"}
    store.message_failed(a, "late", T0 + H)  # a sent message stays sent
    assert store.message_status([a]) == {a: "sent"}


def test_defer_chat_holds_its_messages_but_quiet_hours_do_not(store: Store) -> None:
    store.upsert_chat(1, "private", "", T0)
    (ref,) = store.queue_messages(1, "private", "digest", [_message("d")], T0)
    store.defer_chat(1, T0 + H, urgent=False)
    assert [m.id for m in store.pending_messages(T0)] == [ref]
    store.defer_chat(1, T0 + H)
    assert store.pending_messages(T0) == []
    assert [m.id for m in store.pending_messages(T0 + H)] == [ref]


# ====================================================================== chats


def test_upsert_chat_creates_and_reactivates(store: Store) -> None:
    chat = store.upsert_chat(1, "group", "Team", T0)
    assert (chat.id, chat.kind, chat.title, chat.active, chat.created_at) == (
        1,
        "group",
        "Team",
        True,
        T0,
    )
    store.deactivate_chat(1, "kicked")
    assert store.active_chats() == []
    again = store.upsert_chat(1, "supergroup", "Team 2", T0 + H)
    assert (again.kind, again.title, again.active, again.created_at) == (
        "supergroup",
        "Team 2",
        True,
        T0,
    )
    assert store.chat(2) is None


def test_active_chats_by_id(store: Store) -> None:
    for chat_id in (5, -3, 1):
        store.upsert_chat(chat_id, "private", "", T0)
    store.deactivate_chat(5, "blocked")
    assert [c.id for c in store.active_chats()] == [-3, 1]


def test_update_chat_changes_settings_and_refuses_unknown_ones(store: Store) -> None:
    store.upsert_chat(1, "private", "", T0)
    store.update_chat(1, {"timezone": "Europe/Kyiv", "digest_time": "09:30", "previews": True})
    store.update_chat(1, {"quiet_start": "23:00", "quiet_end": "06:00"})
    store.update_chat(1, {})
    chat = store.chat(1)
    assert chat is not None
    assert (chat.timezone, chat.digest_time, chat.previews, chat.quiet_start, chat.quiet_end) == (
        "Europe/Kyiv",
        "09:30",
        True,
        "23:00",
        "06:00",
    )
    store.update_chat(1, {"digest_time": None, "previews": False})
    chat = store.chat(1)
    assert chat is not None and (chat.digest_time, chat.previews) == (None, False)
    with pytest.raises(KeyError):
        store.update_chat(1, {"title": "x"})


def test_subscriptions_toggle(store: Store) -> None:
    store.upsert_chat(1, "private", "", T0)
    assert store.subscribe(1, "isis", T0) is True
    assert store.subscribe(1, "isis", T0) is False
    assert store.subscriptions(1) == {"isis"}
    assert store.unsubscribe(1, "isis") is True
    assert store.unsubscribe(1, "isis") is False
    assert store.subscriptions(1) == set()


def test_modes_and_urgent_topics(store: Store) -> None:
    _subscribed(store, 1, "isis", "troops")
    assert store.modes(1) == {"isis": "both", "troops": "both"}
    assert store.set_mode(1, "troops", "digest") is True
    assert store.set_mode(1, "other", "digest") is False
    assert store.modes(1) == {"isis": "both", "troops": "digest"}
    assert store.urgent_topics(1) == set()
    assert store.set_urgent(1, "isis", True) is True
    assert store.set_urgent(1, "other", True) is False
    assert store.urgent_topics(1) == {"isis"}
    store.set_urgent(1, "isis", False)
    assert store.urgent_topics(1) == set()


def test_watches_per_chat_and_of_active_chats(store: Store) -> None:
    store.upsert_chat(1, "private", "", T0)
    store.upsert_chat(2, "private", "", T0)
    store.add_watch(Watch(2, "b", "B"), T0)
    store.add_watch(Watch(1, "z", "Z"), T0)
    store.add_watch(Watch(1, "a", "A"), T0)
    store.add_watch(Watch(1, "a", "A2"), T0)  # replaced
    assert store.watches(1) == [Watch(1, "a", "A2"), Watch(1, "z", "Z")]
    assert store.watches() == [Watch(1, "a", "A2"), Watch(1, "z", "Z"), Watch(2, "b", "B")]
    store.deactivate_chat(1, "blocked")
    assert store.watches() == [Watch(2, "b", "B")]
    assert store.watches(1) == [Watch(1, "a", "A2"), Watch(1, "z", "Z")]
    assert store.remove_watch(2, "b") is True
    assert store.remove_watch(2, "b") is False
    assert store.watches(2) == []


def test_mutes_running_soonest_first(store: Store) -> None:
    store.upsert_chat(1, "private", "", T0)
    store.mute(1, "isis", T0 + 2 * H)
    store.mute(1, "story:s1", T0 + H)
    store.mute(1, "old", T0 - H)
    assert list(store.mutes(1, T0).items()) == [("story:s1", T0 + H), ("isis", T0 + 2 * H)]
    store.mute(1, "isis", T0 + 3 * H)  # extended
    assert store.mutes(1, T0 + H) == {"isis": T0 + 3 * H}
    assert store.unmute(1, "isis") is True
    assert store.unmute(1, "isis") is False
    assert store.mutes(1, T0) == {"story:s1": T0 + H}
    assert store.mutes(2, T0) == {}


def test_a_group_that_became_a_supergroup_keeps_what_it_had(store: Store) -> None:
    _subscribed(store, -1, "isis", kind="group")
    store.add_watch(Watch(-1, "mine", "ISIS"), T0)
    store.set_last_digest(-1, T0)
    store.add_items([_news("ISIS a", "isis")], T0)
    [task] = store.pending(T0)
    store.claim(task.item_ref, -1, "me", T0)
    store.queue_messages(-1, "group", "notice", [_message("n")], T0)
    store.move_chat(-1, -100, T0 + H)
    old, new = store.chat(-1), store.chat(-100)
    assert old is not None and not old.active
    assert new is not None and (new.kind, new.title, new.active) == ("supergroup", "chat -1", True)
    assert new.last_digest_at == T0
    assert store.subscriptions(-100) == {"isis"} and store.subscriptions(-1) == set()
    assert store.watches(-100) == [Watch(-100, "mine", "ISIS")]
    [moved] = store.pending(T0)  # the claim ended: anyone may send it to the new id
    assert (moved.chat_id, moved.item.title, moved.chat_kind) == (-100, "ISIS a", "supergroup")
    assert [m.chat_id for m in store.pending_messages(T0)] == [-100]


def test_votes_come_back_with_the_matches_their_alert_listed(store: Store) -> None:
    _subscribed(store, 1, "isis")
    _subscribed(store, 2, "isis", "troops")
    store.add_items([_news("ISIS and troops", "troops", "isis"), _news("ISIS b", "isis")], T0)
    refs = {(t.chat_id, t.item.title): t.item_ref for t in store.pending(T0)}
    assert store.set_feedback(1, refs[(1, "ISIS and troops")], -1, T0) is True
    assert store.set_feedback(2, refs[(2, "ISIS and troops")], 1, T0 + H) is True
    assert store.set_feedback(2, refs[(2, "ISIS b")], -1, T0 + 2 * H) is True
    assert store.set_feedback(2, 999_999, 1, T0) is False  # no such item
    votes = [
        (v.chat_id, v.item.title, v.value, [m.topic_id for m in v.matches])
        for v in store.feedback()
    ]
    assert votes == [
        (1, "ISIS and troops", -1, ["isis"]),  # chat 1's alert listed isis only
        (2, "ISIS and troops", 1, ["troops", "isis"]),
        (2, "ISIS b", -1, ["isis"]),
    ]
    assert [v.item.title for v in store.feedback(chat_id=1)] == ["ISIS and troops"]
    assert [(v.chat_id, v.item.title) for v in store.feedback(topic_id="troops")] == [
        (2, "ISIS and troops")
    ]
    assert store.set_feedback(2, refs[(2, "ISIS b")], 1, T0 + 3 * H) is True  # changed mind
    [changed] = store.feedback(chat_id=2, topic_id="isis")[1:]
    assert (changed.value, changed.at) == (1, T0 + 2 * H)  # the first vote's time stays


def test_a_tuning_stops_a_kind_for_its_chat_only(store: Store) -> None:
    _subscribed(store, 1, "isis")
    _subscribed(store, 2, "isis")
    store.set_tuning(1, "isis", Tuning(stopped=frozenset({"query:isis"})))
    assert store.add_items([_news("ISIS a", "isis")], T0) == (1, 1)
    assert [t.chat_id for t in store.pending(T0)] == [2]
    other = NewItem(item("ISIS b"), "", (match("isis", term="Daesh"),))
    assert store.add_items([other], T0) == (1, 2)  # another kind still reaches chat 1


def test_a_chats_learned_threshold_holds_back_weaker_model_matches(store: Store) -> None:
    _subscribed(store, 1, "troops")
    _subscribed(store, 2, "troops")
    store.set_tuning(1, "troops", Tuning(threshold=0.7))

    def learned(title: str, score: float) -> NewItem:
        model = ModelScore(score, 0.5, (("pull out", 1.2),))
        return NewItem(item(title), "", (Match("troops", score, (), model),))

    store.add_items([learned("weak", 0.6), learned("strong", 0.8)], T0)
    got = sorted((t.chat_id, t.item.title) for t in store.pending(T0))
    assert got == [(1, "strong"), (2, "strong"), (2, "weak")]


def test_tunings_round_trip_and_an_empty_one_is_removed(store: Store) -> None:
    _subscribed(store, 1, "isis")
    tuning = Tuning(0.625, frozenset({"model:pull out", "query:isis"}), {"query:daesh": 3})
    store.set_tuning(1, "isis", tuning)
    store.set_tuning(1, "troops", Tuning(threshold=0.5))
    store.set_tuning(7, "isis", tuning)  # no such chat: nothing stored
    assert store.tunings(1) == {"isis": tuning, "troops": Tuning(threshold=0.5)}
    assert store.tunings(7) == {}
    store.set_tuning(1, "troops", Tuning())
    assert store.tunings(1) == {"isis": tuning}


def test_votes_and_tunings_move_with_a_migrated_group(store: Store) -> None:
    _subscribed(store, -5, "isis", kind="group")
    store.add_items([_news("ISIS a", "isis")], T0)
    [task] = store.pending(T0)
    store.set_feedback(-5, task.item_ref, -1, T0)
    store.set_tuning(-5, "isis", Tuning(threshold=0.9))
    store.move_chat(-5, -100, T0)
    assert [v.chat_id for v in store.feedback()] == [-100]
    assert store.tunings(-100) == {"isis": Tuning(threshold=0.9)}


# ====================================================================== reports


def test_stats_count_pending_and_sent(store: Store) -> None:
    _subscribed(store, 1, "isis")
    a, b = item("ISIS a"), item("ISIS b")
    store.add_items([NewItem(a, "", (match("isis"),)), NewItem(b, "", (match("isis"),))], T0)
    store.mark_sent(a.key, 1, 1, T0)
    stats = store.stats(T0)
    assert (stats.items, stats.sent, stats.pending, stats.chats_active) == (2, 1, 1, 1)


def test_stats_count_everything_the_operator_sees(store: Store) -> None:
    store.upsert_chat(CONSOLE_CHAT_ID, "console", "console", T0)
    _subscribed(store, 1, "isis", "troops")
    _subscribed(store, 2)
    store.deactivate_chat(2, "blocked")
    store.add_items([_news("old", "isis")], T0 - 2 * timedelta(days=1))
    store.add_items([_news("ISIS a", "isis", "troops"), _news("none")], T0 + H)
    for n, (errors, down, retired) in enumerate([(0, 0, 0), (2, 0, 0), (5, 1, 0), (3, 1, 1)]):
        state = FeedState(
            url=f"http://127.0.0.1/{n}",
            error_count=errors,
            down_notified=bool(down),
            retired=bool(retired),
        )
        store.save_feed_state(state)
    stats = store.stats(T0 + 2 * H)
    assert (stats.items, stats.items_today, stats.matches, stats.chats_active) == (3, 2, 3, 1)
    assert (stats.sent, stats.pending, stats.oldest_pending) == (0, 2, T0 - 2 * timedelta(days=1))
    assert (stats.feeds_ok, stats.feeds_failing, stats.feeds_retired, stats.feeds_down) == (
        1,
        2,
        1,
        1,
    )


def test_a_refused_batch_stores_nothing(store: Store) -> None:
    _subscribed(store, 1, "isis")
    good = _news("ISIS good", "isis")
    bad = NewItem(item("ISIS bad"), "", (match("isis"), match("isis")))  # a topic twice
    with pytest.raises(Exception):  # noqa: B017 - each backend refuses it in its own words
        store.add_items([good, bad], T0)
    assert store.known_keys([good.item.key, bad.item.key]) == set()
    assert store.pending(T0) == []


def test_a_learned_layers_match_keeps_its_score_threshold_and_words(store: Store) -> None:
    """What /why and the alert show of a model match comes back from the store as it went in."""
    _subscribed(store, 1, "tw")
    model = ModelScore(0.81, 0.66, (("pull back", 1.25), ("base", 0.5)))
    learned = Match("tw", 0.81, (), model)
    store.add_items([NewItem(item("Forces hand over base"), "s", (learned,))], T0)
    (task,) = store.pending(T0 + H)
    assert task.matches == (learned,)
