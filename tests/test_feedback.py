"""Readers' 👍/👎: the pure tuning (bot/feedback.py), the service that stores it, and the
operators' commands that fold votes into a topic's examples (``newsbot topics``)."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import WatchLimits, load_settings, load_topic_file
from bot.errors import ConfigError
from bot.feedback import STOP_AFTER, Tuning, Vote, alert_kind, kind_key, passes, tune
from bot.models import Evidence, Match, ModelScore, Topic
from bot.services.feedback import FeedbackService
from bot.services.topics import TopicRegistry
from bot.storage.base import NewItem, Store
from bot.storage.memory import MemoryStore
from bot.storage.sqlite import SQLiteStore
from tests.factories import T0, item, match, write_config

H = timedelta(hours=1)


def learned(topic: str, score: float, term: str = "pull out") -> Match:
    return Match(topic, score, (), ModelScore(score, 0.5, ((term, 1.5), ("troop", 0.4))))


# ====================================================================== the pure stage


def test_an_alert_kind_is_how_it_matched_and_its_heaviest_term() -> None:
    query = Match("isis", 3, (Evidence("ISIS", "title", 1, ""), Evidence("Daesh", "text", 2, "")))
    assert alert_kind(query) == "query:isis"
    assert alert_kind(learned("troops", 0.7)) == "model:pull out"
    assert kind_key("isis", "query:isis") != kind_key("troops", "query:isis")
    assert len(f"set:allow:{kind_key('isis', 'query:isis')}".encode()) <= 64


def test_three_downvotes_on_one_kind_stop_it() -> None:
    downs = [Vote(-1, "query:isis")] * (STOP_AFTER - 1)
    assert tune(downs).stopped == frozenset()
    tuning = tune([*downs, Vote(-1, "query:isis"), Vote(-1, "query:daesh")])
    assert tuning.stopped == {"query:isis"}
    assert not passes(tuning, match("isis", term="ISIS"))
    assert passes(tuning, match("isis", term="Daesh"))


def test_upvotes_on_a_kind_keep_it_flowing() -> None:
    votes = [Vote(-1, "query:isis")] * 3 + [Vote(1, "query:isis")] * 2
    assert tune(votes).stopped == frozenset()  # 3 against 2: the chat is of two minds
    assert tune([*votes, Vote(-1, "query:isis")]).stopped == {"query:isis"}  # 4 against 2


def test_a_kind_let_in_again_needs_three_more_downvotes() -> None:
    votes = [Vote(-1, "model:pull out")] * 3
    allowed = {"model:pull out": 3}
    again = tune(votes, allowed=allowed)
    assert again.stopped == frozenset() and again.allowed == allowed
    assert tune(votes + [Vote(-1, "model:pull out")] * 2, allowed=allowed).stopped == frozenset()
    stopped = tune(votes + [Vote(-1, "model:pull out")] * 3, allowed=allowed)
    assert stopped.stopped == {"model:pull out"} and stopped.allowed == {}


def test_a_downvote_on_a_learned_match_lifts_the_chats_threshold_above_it() -> None:
    tuning = tune([Vote(-1, "model:a", 0.62)], base=0.55)
    assert tuning.threshold == pytest.approx(0.621)
    assert not passes(tuning, learned("t", 0.62)) and passes(tuning, learned("t", 0.65))
    assert passes(tuning, match("t"))  # a query match has no score: the threshold leaves it


def test_the_chats_threshold_gets_most_of_its_votes_right() -> None:
    votes = [Vote(1, "model:a", 0.70), Vote(-1, "model:b", 0.62)]
    assert tune(votes, base=0.55).threshold == pytest.approx(0.621)  # none wrong
    # Lifting past 0.62 would lose the 👍 at 0.60 and 0.61 to stop one 👎: it stays.
    votes = [Vote(1, "model:a", 0.60), Vote(1, "model:b", 0.61), Vote(-1, "model:c", 0.62)]
    assert tune(votes, base=0.55).threshold is None
    # Past 0.64 one 👍 is lost and two 👎 stop: better than base (two wrong) or 0.621 (two).
    votes = [Vote(1, "model:a", 0.60), Vote(-1, "model:b", 0.62), Vote(-1, "model:c", 0.64)]
    assert tune(votes, base=0.55).threshold == pytest.approx(0.641)


def test_no_learned_layer_no_threshold() -> None:
    assert tune([Vote(-1, "model:a", 0.9)], base=None).threshold is None
    assert tune([Vote(1, "model:a", 0.9)], base=0.5) == Tuning()


# ====================================================================== the service

ISIS = Topic("isis", "ISIS", "ISIS OR Daesh")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "db.sqlite3")


def service(store: Store, *topics: Topic) -> FeedbackService:
    registry = TopicRegistry(store, topics or (ISIS,), None, WatchLimits(), lambda: T0)
    return FeedbackService(store, registry, lambda: T0)


def alert_refs(store: Store, chat_id: int, *titles: str) -> list[int]:
    store.add_items([NewItem(item(t), "", (match("isis", term="ISIS"),)) for t in titles], T0)
    by_title = {t.item.title: t.item_ref for t in store.pending(T0) if t.chat_id == chat_id}
    return [by_title[t] for t in titles]


def test_votes_stop_a_kind_for_the_voting_chat_and_settings_let_it_in(store: Store) -> None:
    for chat in (1, 2):
        store.upsert_chat(chat, "private", "", T0)
        store.subscribe(chat, "isis", T0)
    votes = service(store)
    refs = alert_refs(store, 1, "ISIS a", "ISIS b", "ISIS c")
    assert votes.vote(1, refs[0], -1) is not None
    assert votes.vote(1, refs[1], -1).stopped == ()  # type: ignore[union-attr]
    result = votes.vote(1, refs[2], -1)
    assert result is not None and [(s.topic_id, s.kind) for s in result.stopped] == [
        ("isis", "query:isis")
    ]
    assert votes.vote(1, 10_000, -1) is None  # gone
    store.add_items([NewItem(item("ISIS d"), "", (match("isis", term="ISIS"),))], T0)
    assert [t.chat_id for t in store.pending(T0) if t.item.title == "ISIS d"] == [2]
    [stopped] = votes.stopped(1)
    assert votes.allow(1, "nope") is None
    assert votes.allow(1, stopped.key) == stopped and votes.stopped(1) == []
    store.add_items([NewItem(item("ISIS e"), "", (match("isis", term="ISIS"),))], T0)
    assert sorted(t.chat_id for t in store.pending(T0) if t.item.title == "ISIS e") == [1, 2]


def test_review_and_learn_write_accepted_votes_the_loader_reads(tmp_path: Path) -> None:
    (tmp_path / "shared.jsonl").write_text(
        json.dumps({"title": "Old ISIS news", "description": "", "isis": 1, "troops": 0}) + "\n"
    )
    topics_file = tmp_path / "topics.toml"
    topics_file.write_text(
        '[[topics]]\nid = "isis"\nquery = "ISIS OR Daesh"\nexamples_file = "shared.jsonl"\n'
        '[[topics]]\nid = "troops"\nquery = "troops"\nexamples_file = "shared.jsonl"\n'
    )
    topics = load_topic_file(topics_file).topics
    store = SQLiteStore(tmp_path / "db.sqlite3")
    for chat in (1, 2):
        store.upsert_chat(chat, "private", "", T0)
        store.subscribe(chat, "isis", T0)
    votes = service(store, *topics)
    good, bad, split = alert_refs(store, 1, "ISIS fighters seized", "Isis the cat", "ISIS?")
    votes.vote(1, good, 1)
    votes.vote(2, good, 1)
    votes.vote(1, bad, -1)
    votes.vote(1, split, 1)
    votes.vote(2, split, -1)
    [review] = votes.review("isis")
    assert [(v.item.title, v.ups, v.downs, v.status) for v in review.items] == [
        ("ISIS fighters seized", 2, 0, "accepted"),
        ("Isis the cat", 0, 1, "accepted"),
        ("ISIS?", 1, 1, "disputed"),
    ]
    result = votes.learn("isis")
    assert [v.item.title for v in result.added] == ["ISIS fighters seized", "Isis the cat"]
    reread = {t.id: t for t in load_topic_file(topics_file).topics}
    assert [(e.title, e.positive) for e in reread["isis"].examples] == [
        ("Old ISIS news", True),
        ("ISIS fighters seized", True),
        ("Isis the cat", False),
    ]
    assert [e.title for e in reread["troops"].examples] == ["Old ISIS news"]  # not its lines
    again = service(store, *reread.values())
    assert [v.status for v in again.review("isis")[0].items] == [
        "in examples",
        "in examples",
        "disputed",
    ]
    assert again.learn("isis").added == ()
    with pytest.raises(ConfigError, match="unknown topic"):
        again.review("nope")
    store.close()


def test_learning_into_a_topic_without_an_examples_file_says_how(store: Store) -> None:
    with pytest.raises(ConfigError, match="no examples file") as caught:
        service(store).learn("isis")
    assert 'examples_file = "isis.jsonl"' in str(caught.value)


# ====================================================================== newsbot topics


def test_newsbot_topics_feedback_and_learn(tmp_path: Path) -> None:
    (tmp_path / "ex.jsonl").write_text("")
    topics_file = tmp_path / "topics.toml"
    topics_file.write_text('[[topics]]\nid = "isis"\nquery = "ISIS"\nexamples_file = "ex.jsonl"\n')
    config = write_config(tmp_path, topics=topics_file)
    settings = load_settings(config, {})
    store = SQLiteStore(settings.database_path)
    store.upsert_chat(1, "private", "", T0)
    store.subscribe(1, "isis", T0)
    [good, bad] = alert_refs(store, 1, "ISIS fighters seized", "Isis the cat")
    store.set_feedback(1, good, 1, T0)
    store.set_feedback(1, bad, -1, T0 + H)
    store.close()

    out = io.StringIO()
    assert main(["--config", str(config), "topics", "feedback"], out) == 0
    listing = out.getvalue()
    assert "isis: 2 items voted on (👍 1, 👎 1)" in listing
    assert f"#{good:<6} 👍1" in listing and "accepted" in listing and "Isis the cat" in listing
    out = io.StringIO()
    assert main(["--config", str(config), "topics", "learn", "isis", "--skip", str(bad)], out) == 0
    assert "1 examples added" in out.getvalue() and "1 left out" in out.getvalue()
    [line] = (tmp_path / "ex.jsonl").read_text().splitlines()
    assert json.loads(line)["isis"] == 1 and json.loads(line)["title"] == "ISIS fighters seized"
    assert main(["--config", str(config), "topics", "learn"], io.StringIO()) == 2


# ====================================================================== a watch's own filter

PETS = [
    "Rescue cats find new homes after shelter appeal",
    "How to keep an indoor cat happy and healthy",
    "Vet warns cat owners about lily poisoning",
    "Stray cat adopted by fire station crew",
    "Cat cafe opens with twelve rescued kittens",
    "Elderly cat reunited with family after ten years",
    "Why cats knead blankets, according to vets",
    "Shelter offers free cat adoption this weekend",
    "Kittens rescued from storm drain by volunteers",
]
SHARES = [
    "CAT shares fall as Caterpillar cuts its outlook",
    "Caterpillar CAT stock jumps on mining equipment orders",
    "CAT earnings beat forecasts as dealers restock",
    "Analysts downgrade CAT after weak construction demand",
    "CAT dividend raised for the thirtieth year",
    "Caterpillar CAT shares slide with industrial stocks",
    "CAT quarterly revenue tops estimates on pricing",
    "Investors weigh CAT outlook before earnings call",
    "CAT stock price target cut by brokers",
]


async def test_a_watch_learns_a_filter_from_its_chats_votes(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite3")
    store.upsert_chat(1, "private", "", T0)
    registry = TopicRegistry(store, (ISIS,), None, WatchLimits(), lambda: T0, model_dir=None)
    votes = FeedbackService(store, registry, lambda: T0)
    watch = registry.add_watch(1, "cats", "cat OR cats OR kittens")
    found = [(t, registry.matcher.match(item(t))) for t in PETS[:8] + SHARES[:8]]
    assert all(m for _, m in found)  # the query finds both kinds
    store.add_items([NewItem(item(t), "", tuple(m)) for t, m in found], T0)
    refs = {t.item.title: t.item_ref for t in store.pending(T0)}
    for number, title in enumerate(PETS[:8] + SHARES[:8]):
        result = votes.vote(1, refs[title], 1 if title in PETS else -1)
        assert result is not None and result.watches == (watch.topic_id,)
        started = await votes.relearn(result.watches)
        assert started == ([watch.topic_id] if number == 15 else [])  # 8 👍 and 8 👎 first
    assert watch.topic_id in registry.matcher.filters
    assert registry.matcher.match(item(PETS[8]))  # a pet story it never saw: kept
    assert not registry.matcher.match(item(SHARES[8]))  # a share story: held back
    again = TopicRegistry(store, (ISIS,), None, WatchLimits(), lambda: T0)  # a restart
    assert not again.matcher.match(item(SHARES[8])) and again.matcher.match(item(PETS[8]))
    store.close()
