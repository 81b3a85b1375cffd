"""Extractive summaries and sentence splitting (bot/summarize.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.normalize import normalize
from bot.sources.documents import parse_document
from bot.summarize import SHORT_TEXT_CHARS, split_sentences, summarize
from tests.conftest import SEED


@pytest.fixture(scope="module")
def seed_item():
    raw = parse_document(
        SEED, SEED.read_bytes(), source="file:seed", mtime=datetime(2024, 1, 1, tzinfo=UTC)
    )
    return normalize(raw)


# --------------------------------------------------------------------------- split_sentences


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("One thing. Another thing.", ["One thing.", "Another thing."]),
        ("Really? Yes! Fine.", ["Really?", "Yes!", "Fine."]),
        ("U.S. troops left. Iraq is calm.", ["U.S. troops left.", "Iraq is calm."]),
        ("The U.S. Army left. Then what?", ["The U.S. Army left.", "Then what?"]),
        ("Dr. Smith spoke. Mr. Jones agreed.", ["Dr. Smith spoke.", "Mr. Jones agreed."]),
        ("Gen. Petraeus came. He left.", ["Gen. Petraeus came.", "He left."]),
        ("J. Smith wrote it. It sold.", ["J. Smith wrote it.", "It sold."]),
        ("It rose 2.5 percent. Then it fell.", ["It rose 2.5 percent.", "Then it fell."]),
        ("See e.g. the report. It is long.", ["See e.g. the report.", "It is long."]),
        (
            "He arrived on Oct. 7 at dawn. Nobody knew.",
            ["He arrived on Oct. 7 at dawn.", "Nobody knew."],
        ),
        ("“We are done.” He left.", ["“We are done.”", "He left."]),
        ('He said "no." Then he left.', ['He said "no."', "Then he left."]),
        ("It ended in 2011. 2014 began a new war.", ["It ended in 2011.", "2014 began a new war."]),
        ("lower case. does not split", ["lower case. does not split"]),
        ("Para one\n\nPara two", ["Para one", "Para two"]),
        ("Line one\nLine two", ["Line one", "Line two"]),
        ("  spaced    out.   Next one. ", ["spaced out.", "Next one."]),
        ("", []),
    ],
)
def test_split_sentences(text, sentences) -> None:
    assert split_sentences(text) == sentences


def test_split_sentences_loses_no_words() -> None:
    text = "The U.S. said so. Dr. Who disagreed! Why? Because 2.5 is less than 3. The end"
    assert " ".join(split_sentences(text)).split() == text.split()


# --------------------------------------------------------------------------- summarize


def test_summary_of_the_seed_has_the_prime_ministers_statement(seed_item) -> None:
    summary = summarize(seed_item.title, seed_item.text)
    sentences = split_sentences(summary)
    assert 2 <= len(sentences) <= 3
    lowered = summary.lower()
    assert "prime minister" in lowered
    assert "us troops are no longer needed" in lowered
    # extractive: every sentence comes from the text, in the text's order
    source = split_sentences(seed_item.text)
    positions = [source.index(s) for s in sentences]
    assert positions == sorted(positions)
    assert len(summary) <= 600


def test_summary_skips_the_byline_and_the_click_here_line(seed_item) -> None:
    summary = summarize(seed_item.title, seed_item.text)
    assert "Joumanna" not in summary
    assert "Click here" not in summary


@pytest.mark.parametrize("max_chars", [120, 250, 400])
def test_summary_respects_max_chars(seed_item, max_chars) -> None:
    summary = summarize(seed_item.title, seed_item.text, max_chars=max_chars)
    assert 0 < len(summary) <= max_chars


def test_max_sentences_limits_the_summary(seed_item) -> None:
    summary = summarize(seed_item.title, seed_item.text, max_sentences=1)
    assert len(split_sentences(summary)) == 1
    assert "no longer needed" in summary


def test_short_texts_are_returned_cleaned_as_they_are() -> None:
    text = "  ISIS   claimed the attack.\n\nNobody   else did.  "
    assert len(text) <= SHORT_TEXT_CHARS
    assert summarize("ISIS attack", text) == "ISIS claimed the attack. Nobody else did."


def test_two_long_sentences_are_kept_whole() -> None:
    one = "Iraq's prime minister said the troops " + "really " * 40 + "must go home."
    two = "The United States said talks " + "about it " * 30 + "continue."
    assert len(one + two) > SHORT_TEXT_CHARS
    assert summarize("Troops", f"{one} {two}", max_chars=2000) == f"{one} {two}"


def test_empty_text_gives_an_empty_summary() -> None:
    assert summarize("Title", "") == ""
    assert summarize("Title", "   \n  ") == ""


def test_long_texts_get_the_lead_and_drop_boilerplate() -> None:
    lead = "Iraqi forces retook the northern town of Tal Afar from Islamic State fighters today."
    filler = [
        "Weather forecasters expect light rain across several provinces tomorrow morning.",
        "A local football club announced its new coach during a crowded press conference.",
        "Farmers complained about rising fertilizer prices at the weekly market.",
        "Schools will reopen next week after the holiday break ends.",
        "The museum unveiled restored pottery from an ancient settlement.",
        "Traffic slowed on the main highway because of road repairs.",
        "Officials said electricity supplies should improve before summer.",
        "A bakery won praise for bread made with traditional recipes.",
        "Students prepared posters for a science fair held downtown.",
        "Doctors urged people to drink water during the warm afternoons.",
        "The city library extended its opening hours for exam season.",
        "Fishermen reported a good catch despite strong winds offshore.",
    ]
    text = " ".join([lead, "Click here.", *filler])
    summary = summarize("Iraqi forces retake Tal Afar from Islamic State", text)
    assert summary.startswith(lead)
    assert "Click here" not in summary
    assert 2 <= len(split_sentences(summary)) <= 3


def test_truncation_ends_with_an_ellipsis_on_a_word_boundary() -> None:
    text = "word " * 200
    summary = summarize("t", text, max_chars=50)
    assert summary.endswith("…")
    assert len(summary) <= 50
    assert set(summary.rstrip("…").split()) == {"word"}
