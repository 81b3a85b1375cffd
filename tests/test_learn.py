"""The learned layer: training, the score it computes, its cache, and how it joins the query."""

from __future__ import annotations

import json
import random
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import learn
from bot.learn import MIN_EXAMPLES, NotEnoughExamples, TopicModel, features, load_or_train, train
from bot.match import Matcher, train_models
from bot.models import DeliveryTask, Example, Topic
from bot.render import render_alert, render_why
from tests.factories import item

PLACES = ["Niger", "Mali", "Kidal", "Gao", "Syria", "Iraq", "Chad", "Sudan", "Gaza", "Tigray"]
ARMIES = ["French troops", "UN peacekeepers", "US soldiers", "the army", "foreign forces"]
GOING = ["head home from", "hand over their base in", "pull back from", "quit", "leave"]
OTHER = ["Football team", "Pop star", "Tourists", "Ministers", "Students"]
DOING = ["arrive in", "play a match in", "open a museum in", "visit", "celebrate in"]


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test trains its own models (the process-wide memory starts empty)."""
    monkeypatch.setattr(learn, "_MEMORY", {})


def examples(seed: int = 1, count: int = 30) -> list[Example]:
    """Positives: armies leaving a place; negatives: other people doing other things there."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        place = rng.choice(PLACES)
        if n % 2:
            title = f"{rng.choice(ARMIES)} {rng.choice(GOING)} {place}"
            out.append(Example(title, f"The deployment in {place} ends this year.", True))
        else:
            title = f"{rng.choice(OTHER)} {rng.choice(DOING)} {place}"
            out.append(Example(title, f"Crowds in {place} cheer the visit.", False))
    return out


def test_too_few_examples_are_refused_clearly() -> None:
    few = examples(count=2 * MIN_EXAMPLES - 2)
    with pytest.raises(NotEnoughExamples) as info:
        train("leaving", few)
    message = str(info.value)
    assert "'leaving'" in message and f"at least {MIN_EXAMPLES} of each" in message
    assert "query alone" in message


def test_a_topic_with_too_few_examples_runs_on_its_query() -> None:
    topic = Topic("leaving", "Leaving", "withdraw", examples=tuple(examples(count=6)))
    matcher = Matcher([topic])
    notes = train_models(matcher, [topic])
    assert matcher.models == {}
    assert "query alone" in notes[0] and "3 positive and 3 negative" in notes[0]
    assert [m.topic_id for m in matcher.match(item("Troops withdraw from Gao"))] == ["leaving"]
    assert matcher.match(item("UN peacekeepers head home from Gao")) == []


def test_the_score_is_scikit_learns_own() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    data = examples()
    model = train("leaving", data)
    docs = [(learn.words_of(e.title), learn.words_of(e.description)) for e in data]
    reference = make_pipeline(
        TfidfVectorizer(analyzer=features, sublinear_tf=True),
        LogisticRegression(C=learn.FEATURES["C"], class_weight="balanced", max_iter=2000),
    ).fit(docs, [e.positive for e in data])
    for title, text in [
        ("Soldiers head home from Gao", "The base is handed over."),
        ("Tourists visit Gao", "Crowds cheer."),
        ("Unrelated words only", ""),
    ]:
        words = (learn.words_of(title), learn.words_of(text))
        expected = reference.predict_proba([words])[0, 1]
        assert model.score(*words) == pytest.approx(expected, abs=1e-9)


def test_the_model_states_its_threshold_and_cross_validated_figures() -> None:
    model = train("leaving", examples())
    assert model.positives == 15 and model.negatives == 15
    assert learn.FEATURES["min_threshold"] <= model.threshold <= 1.0
    assert 0.0 < model.cv_precision <= 1.0 and 0.0 < model.cv_recall <= 1.0
    assert model.cv_f1 > 0.8  # the two kinds are easy to tell apart
    assert "threshold" in model.summary() and "cross-validated" in model.summary()
    assert "head" in model.anchors or "home" in model.anchors


def test_the_threshold_is_chosen_for_the_query_or_the_model() -> None:
    data = examples()
    # The query finds every positive already: the model can only add false alarms, so the
    # threshold that suits the pair is above every score.
    hits = [e.positive for e in data]
    model = train("leaving", data, hits)
    assert (model.cv_precision, model.cv_recall) == (1.0, 1.0)
    for e in data:
        if not e.positive:
            words = (learn.words_of(e.title), learn.words_of(e.description))
            assert model.score(*words) < model.threshold or model.threshold >= 1.0


def test_a_restart_reads_the_cache_instead_of_training(tmp_path: Path, monkeypatch) -> None:
    data = examples()
    first = load_or_train("leaving", data, cache_dir=tmp_path)
    assert first.seconds > 0
    [cached] = tmp_path.iterdir()
    monkeypatch.setattr(learn, "_MEMORY", {})  # a new process
    monkeypatch.setattr(learn, "train", lambda *a, **k: pytest.fail("trained again"))
    again = load_or_train("leaving", data, cache_dir=tmp_path)
    assert again.seconds == 0 and again.key == first.key
    assert again.weights == first.weights and again.threshold == first.threshold
    assert json.loads(cached.read_text())["key"] == first.key


def test_changed_examples_or_a_foreign_cache_file_retrain(tmp_path: Path, monkeypatch) -> None:
    data = examples()
    first = load_or_train("leaving", data, cache_dir=tmp_path)
    changed = [*data[:-1], Example("Soldiers quit Chad", "", True)]
    monkeypatch.setattr(learn, "_MEMORY", {})
    second = load_or_train("leaving", changed, cache_dir=tmp_path)
    assert second.key != first.key and second.seconds > 0
    [cached] = tmp_path.iterdir()
    payload = json.loads(cached.read_text())
    payload["threshold"] = 0.0  # tampered with, or written for other examples
    payload["key"] = "0" * 64
    cached.write_text(json.dumps(payload))
    monkeypatch.setattr(learn, "_MEMORY", {})
    third = load_or_train("leaving", changed, cache_dir=tmp_path)
    assert third.seconds > 0 and third.threshold == second.threshold
    cached.write_text("{not json")
    monkeypatch.setattr(learn, "_MEMORY", {})
    assert load_or_train("leaving", changed, cache_dir=tmp_path).seconds > 0


def model_matcher() -> tuple[Matcher, TopicModel]:
    topic = Topic("leaving", "Leaving", "withdraw*", examples=tuple(examples()))
    matcher = Matcher([topic, Topic("sport", "Sport", "football")])
    train_models(matcher, [topic])
    return matcher, matcher.models["leaving"]


def test_the_model_finds_what_the_query_misses_and_says_why() -> None:
    matcher, model = model_matcher()
    [m] = matcher.match(item("UN peacekeepers head home from Gao", "The deployment ends."))
    assert m.topic_id == "leaving" and m.model is not None
    assert m.model.threshold == model.threshold and m.model.score >= model.threshold
    assert m.score == round(m.model.score, 2)
    terms = [t for t, _ in m.model.terms]
    assert terms and all(e.field == "model" for e in m.evidence)
    assert [e.term for e in m.evidence] == terms
    assert all(e.snippet for e in m.evidence)
    assert m.why().startswith(f"model {m.model.score:.2f} ≥ {model.threshold:.2f}: “")


def test_a_query_match_stays_a_query_match() -> None:
    matcher, _ = model_matcher()
    [m] = matcher.match(item("French troops withdraw from Niger"))
    assert m.model is None and m.evidence[0].field == "title"


def test_items_without_an_anchor_word_are_not_scored(monkeypatch) -> None:
    matcher, model = model_matcher()
    plain = item("Football results", "Goals and cards.")
    doc = matcher.index(plain)
    assert not model.passes(doc["title"].words + doc["text"].words)
    assert matcher.model_candidates(doc) == set()
    monkeypatch.setattr(TopicModel, "explain_counts", lambda *a, **k: pytest.fail("scored"))
    assert [m.topic_id for m in matcher.match(plain)] == ["sport"]


def test_removing_a_topic_removes_its_model() -> None:
    matcher, _ = model_matcher()
    matcher.remove("leaving")
    assert matcher.models == {}
    assert matcher.model_candidates(matcher.index(item("Peacekeepers head home"))) == set()


def test_the_alert_and_why_show_the_models_score_threshold_and_words() -> None:
    matcher, model = model_matcher()
    news = item("UN peacekeepers head home from Gao", "The deployment ends.")
    matches = tuple(matcher.match(news))
    task = DeliveryTask(news, 1, matches, "summary")
    topics = {t.topic.id: t.topic for t in matcher.topics}
    alert = render_alert(task, topics, ZoneInfo("UTC")).plain
    assert f"model {matches[0].model.score:.2f} ≥ {model.threshold:.2f}" in alert
    [why] = render_why(task, topics, ZoneInfo("UTC"))
    assert "learned layer did" in why.plain and f"threshold {model.threshold:.2f}" in why.plain
    assert f"“{matches[0].model.terms[0][0]}” in model" in why.plain


def test_a_model_match_survives_the_database(tmp_path: Path) -> None:
    from bot.storage.sqlite.codecs import decode_match as _match
    from bot.storage.sqlite.codecs import evidence_json as _evidence_json

    matcher, _ = model_matcher()
    [m] = matcher.match(item("UN peacekeepers head home from Gao", "The deployment ends."))
    assert _match(m.topic_id, m.score, _evidence_json(m)) == m
    [q] = matcher.match(item("French troops withdraw from Niger"))
    assert _match(q.topic_id, q.score, _evidence_json(q)) == q


def test_no_cache_is_written_without_a_data_directory(tmp_path: Path) -> None:
    """A dry run's data directory does not exist: training leaves no trace there."""
    load_or_train("leaving", examples(), cache_dir=tmp_path / "data" / "models")
    assert not (tmp_path / "data").exists()


def test_the_prefilter_keeps_every_positive_example_the_model_matches() -> None:
    data = examples()
    model = train("leaving", data)
    assert not model.anchors & learn.STOP_WORDS
    for e in data:
        title, text = learn.words_of(e.title), learn.words_of(e.description)
        if e.positive and model.score(title, text) >= model.threshold:
            assert model.passes(title + text), e.title


def test_a_model_that_adds_nothing_is_never_run(monkeypatch) -> None:
    data = examples()
    topic = Topic("leaving", "Leaving", "withdraw*", examples=tuple(data))
    matcher = Matcher([topic])
    model = train("leaving", data, [e.positive for e in data])  # the query finds them all
    assert not model.active
    matcher.set_model("leaving", model)
    monkeypatch.setattr(TopicModel, "explain_counts", lambda *a, **k: pytest.fail("scored"))
    doc = matcher.index(item("UN peacekeepers head home from Gao"))
    assert matcher.model_candidates(doc) == set() and matcher.match_doc(doc) == []
