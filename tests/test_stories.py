"""Story clustering: one story per event, across outlets, within the window, and no more."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from datetime import datetime, timedelta

import pytest

from bot.models import Item
from bot.normalize import normalize
from bot.stories import (
    MAX_POSTINGS,
    WINDOW,
    StoryIndex,
    assign_all,
    facts,
    material_facts,
    mentions,
    story_id_for,
)
from tests.conftest import ROOT, shared_path
from tests.factories import T0, item, stream_entry


def report(outlet: str, hours: float, title: str, text: str = "") -> Item:
    """An item from ``outlet``, published ``hours`` after T0."""
    return item(
        title,
        text,
        guid=f"{outlet}:{title}",
        source=f"http://127.0.0.1/{outlet}.xml",
        published=T0 + timedelta(hours=hours),
    )


QUAKE = [
    report(
        "bbc",
        0,
        "Earthquake of magnitude 6.3 strikes western Afghanistan near Herat",
        "A powerful earthquake struck western Afghanistan on Saturday, killing at least 15 people "
        "in Herat province, officials said.",
    ),
    report(
        "aljazeera",
        1,
        "Powerful quake hits Herat province, Afghanistan, killing dozens",
        "The 6.3-magnitude earthquake was followed by strong aftershocks in Herat, "
        "Afghanistan's third-largest city.",
    ),
    report(
        "guardian",
        2,
        "Hundreds feared dead after 6.3 earthquake in Afghanistan",
        "Rescuers in Herat dig through rubble after the magnitude 6.3 quake and aftershocks "
        "flattened villages.",
    ),
    report(
        "reuters",
        3,
        "Afghanistan earthquake: death toll climbs as Herat villages flattened",
        "The quake of magnitude 6.3 destroyed homes in Zindah Jan district of Herat province.",
    ),
    report(
        "nyt",
        5,
        "Taliban say more than 2,000 killed in Herat earthquakes",
        "Afghanistan's Taliban government says the magnitude 6.3 quake and its aftershocks in "
        "Herat killed more than 2,000 people.",
    ),
]

# Background: the other news of the same hours, so that word weights are not all equal.
OTHER_NEWS = [
    report("bbc", 0.5, "Bank of England holds interest rates at 5.25%", "Inflation slows."),
    report("nyt", 1.5, "Pope Francis meets bishops at the Vatican synod", "The synod opened."),
    report("reuters", 2.5, "Oil prices rise as OPEC+ extends output cuts", "Brent climbed 2%."),
    report("guardian", 3.5, "Storm Babet brings floods to eastern Scotland", "Rivers burst."),
    report("aljazeera", 4.5, "Kenya to send police officers to Haiti", "A court approved it."),
]


def stories_of(items: Iterable[Item], index: StoryIndex | None = None) -> dict[str, str]:
    """Item title -> story id, assigning in the given order."""
    index = StoryIndex() if index is None else index
    return {i.title: index.assign(i).story_id for i in items}


# -- one event, many outlets --------------------------------------------------------------


def test_one_event_from_five_outlets_in_different_words_is_one_story() -> None:
    stream = sorted(QUAKE + OTHER_NEWS, key=lambda i: i.published)
    ids = stories_of(stream)
    assert len({ids[i.title] for i in QUAKE}) == 1
    assert ids[QUAKE[0].title] == story_id_for(QUAKE[0].key)  # named after its first item
    assert len({ids[i.title] for i in OTHER_NEWS}) == len(OTHER_NEWS)
    assert not {ids[i.title] for i in OTHER_NEWS} & {ids[QUAKE[0].title]}


def test_assignment_says_new_or_joined_with_similarity_and_the_closest_item() -> None:
    index = StoryIndex()
    first = index.assign(QUAKE[0])
    second = index.assign(QUAKE[1])
    assert first.new and first.similarity == 0.0 and first.matched_key is None
    assert not second.new and second.story_id == first.story_id
    assert 0.3 <= second.similarity <= 1.0 and second.matched_key == QUAKE[0].key
    again = index.assign(QUAKE[1])  # the same item twice keeps its story
    assert again.story_id == first.story_id and not again.new


def test_the_same_outlet_updating_its_report_joins_its_story() -> None:
    first = report(
        "bbc",
        0,
        "Gunman kills several people at Prague university",
        "Police in Prague say several people were killed at Charles University.",
    )
    update = report(
        "bbc",
        2,
        "Prague university shooting: gunman kills 14 in Czech capital",
        "A gunman killed 14 people at Charles University in Prague before police shot him.",
    )
    ids = stories_of([first, update])
    assert ids[first.title] == ids[update.title]


# -- different events that share words ----------------------------------------------------

SYRIA_MONDAY = report(
    "bbc",
    0,
    "US strikes Iran-backed militia sites in eastern Syria",
    "The Pentagon said F-16 jets hit two facilities near Abu Kamal used by Iran's Revolutionary "
    "Guard, after drone attacks on US troops.",
)
SYRIA_MONDAY_ELSEWHERE = report(
    "reuters",
    3,
    "Pentagon says US jets struck Iran-linked facilities near Abu Kamal in Syria",
    "Two F-16s hit a weapons storage site and an ammunition depot near Abu Kamal, officials said.",
)


def test_a_strike_in_syria_on_monday_and_another_on_thursday_are_two_stories() -> None:
    thursday = report(  # nearly the same words, three days later: outside the window
        "aljazeera",
        72,
        "US strikes Iran-backed militia sites in Syria",
        "The Pentagon said US jets hit facilities used by Iran's Revolutionary Guard after drone "
        "attacks on US troops.",
    )
    ids = stories_of([SYRIA_MONDAY, SYRIA_MONDAY_ELSEWHERE, thursday])
    assert ids[SYRIA_MONDAY.title] == ids[SYRIA_MONDAY_ELSEWHERE.title]
    assert ids[thursday.title] != ids[SYRIA_MONDAY.title]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (  # the same kind of event in two places
            report(
                "lemonde",
                0,
                "London's Luton Airport suspends all flights due to fire",
                "A fire in a car park destroyed vehicles; flights are suspended until midday.",
            ),
            report(
                "sky",
                2,
                "BA suspends Tel Aviv flights after Hamas says it attacked airport",
                "British Airways has suspended flights to Tel Aviv after Hamas said it had "
                "attacked the Israeli airport.",
            ),
        ),
        (  # two matches of two World Cups on the same day
            report(
                "bbc",
                0,
                "Wales v Argentina: Rugby World Cup 2023 quarter-final preview, team news",
                "Wales face Argentina in the Rugby World Cup quarter-final in Marseille.",
            ),
            report(
                "aljazeera",
                3,
                "India vs Pakistan: ICC Cricket World Cup 2023 match preview",
                "India host Pakistan in Ahmedabad in the Cricket World Cup group stage match.",
            ),
        ),
        (  # one outlet's daily series about two wars
            report(
                "aljazeera",
                0,
                "Russia-Ukraine war: List of key events, day 600",
                "As the war enters its 600th day, these are the main developments.",
            ),
            report(
                "aljazeera",
                6,
                "Israel-Hamas war: List of key events, day 10",
                "As the war enters its 10th day, these are the main developments.",
            ),
        ),
        (  # the same kind of disaster in two countries on the same day
            report(
                "bbc",
                0,
                "Earthquake of magnitude 6.3 strikes Herat in western Afghanistan",
                "The earthquake killed at least 15 people and destroyed homes, officials said.",
            ),
            report(
                "reuters",
                4,
                "Earthquake of magnitude 6.1 strikes Gansu in north-west China",
                "The earthquake killed at least 100 people and destroyed homes, state media said.",
            ),
        ),
        (  # editions of a newsletter
            report("nyt", 0, "Monday Briefing", "The latest from the war in Gaza and the news."),
            report("nyt", 24, "Tuesday Briefing", "The latest from the war in Gaza and the news."),
        ),
    ],
    ids=["airports", "world-cups", "key-events-series", "earthquakes", "briefings"],
)
def test_different_events_sharing_many_words_stay_apart(first: Item, second: Item) -> None:
    ids = stories_of([first, second])
    assert ids[first.title] != ids[second.title]


def test_a_match_report_takes_only_items_that_name_its_sides() -> None:
    live = report(
        "sky",
        0,
        "England v Fiji: Rugby World Cup quarter final LIVE",
        "Follow live coverage of England against Fiji in the Rugby World Cup quarter final.",
    )
    result = report(
        "bbc",
        2,
        "England through to Rugby World Cup semi-finals after quarter final victory over Fiji",
        "England beat Fiji 30-24 in the Rugby World Cup quarter final in Marseille.",
    )
    other_match = report(
        "lemonde",
        6,
        "France lose to South Africa in Rugby World Cup quarter final",
        "South Africa beat France 29-28 in the Rugby World Cup quarter final in Paris and will "
        "meet England in the semi-finals.",
    )
    ids = stories_of([live, result, other_match])
    assert ids[live.title] == ids[result.title]
    assert ids[other_match.title] != ids[live.title]


# -- the window -------------------------------------------------------------------------


def test_items_further_apart_than_the_window_never_join() -> None:
    text = "The 6.3-magnitude earthquake struck Herat province in western Afghanistan."
    early = report("bbc", 0, "Earthquake strikes Herat in western Afghanistan", text)
    inside = report("sky", 47, "Earthquake strikes Herat in western Afghanistan", text)
    outside = report("nyt", 49, "Earthquake strikes Herat in western Afghanistan", text)
    index = StoryIndex()
    assert index.assign(early).story_id == index.assign(inside).story_id
    # A story's span never exceeds the window: the 49 h item cannot join through the 47 h one.
    assert index.assign(outside).new
    apart = StoryIndex()
    assert apart.assign(early).story_id != apart.assign(outside).story_id


def test_a_shorter_window_splits_what_the_default_joins() -> None:
    late = report(
        "guardian",
        30,
        "Afghanistan earthquake: Herat survivors dig through rubble after 6.3 quake",
        "Villages in Herat province lie flattened by the magnitude 6.3 earthquake.",
    )
    default = stories_of([QUAKE[0], late])
    short = stories_of([QUAKE[0], late], StoryIndex(timedelta(hours=24)))
    assert default[late.title] == default[QUAKE[0].title]
    assert short[late.title] != short[QUAKE[0].title]


def test_forget_before_bounds_memory_to_the_window() -> None:
    index = StoryIndex()
    for n in range(24 * 10):  # ten days, one item an hour, every item shares words
        index.assign(
            report(
                f"outlet{n % 5}",
                n,
                f"Parliament debates budget bill number {n} amid protests",
                f"Lawmakers debated the budget bill {n} while protesters gathered outside.",
            )
        )
        assert len(index) <= WINDOW / timedelta(hours=1) + 1
    assert index.story_count <= len(index)
    assert max(len(p) for p in index._postings.values()) <= MAX_POSTINGS
    assert index.forget_before(T0 + timedelta(days=20)) > 0
    assert len(index) == 0 and index.story_count == 0 and not index._postings and not index._df


# -- determinism and restart --------------------------------------------------------------


def test_same_input_in_same_order_gives_the_same_ids() -> None:
    stream = sorted(QUAKE + OTHER_NEWS + [SYRIA_MONDAY, SYRIA_MONDAY_ELSEWHERE], key=_when)
    first = [a.story_id for a in assign_all(stream)]
    assert first == [a.story_id for a in assign_all(stream)]


def test_a_batch_gets_the_same_ids_in_any_order() -> None:
    stream = QUAKE + OTHER_NEWS + [SYRIA_MONDAY, SYRIA_MONDAY_ELSEWHERE]
    forward = {i.key: a.story_id for i, a in zip(stream, assign_all(stream), strict=True)}
    backward = stream[::-1]
    again = {i.key: a.story_id for i, a in zip(backward, assign_all(backward), strict=True)}
    assert forward == again
    assert len({forward[i.key] for i in QUAKE}) == 1


def test_ids_do_not_depend_on_the_process_hash_seed() -> None:
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "from tests.test_stories import QUAKE, OTHER_NEWS, SYRIA_MONDAY, SYRIA_MONDAY_ELSEWHERE;"
        "from bot.stories import assign_all;"
        "s = sorted(QUAKE + OTHER_NEWS + [SYRIA_MONDAY, SYRIA_MONDAY_ELSEWHERE],"
        " key=lambda i: i.published);"
        "print(json.dumps([(a.story_id, a.similarity) for a in assign_all(s)]))"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script, str(ROOT)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=ROOT,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_replaying_stored_items_restores_the_stories() -> None:
    stream = sorted(QUAKE + OTHER_NEWS, key=_when)
    uninterrupted = StoryIndex()
    assigned = [uninterrupted.assign(i) for i in stream]
    restored = StoryIndex()
    for i, a in zip(stream[:-1], assigned[:-1], strict=True):
        restored.add_known(i, a.story_id)
    after_restart = restored.assign(stream[-1])
    assert after_restart.story_id == assigned[-1].story_id
    assert after_restart.new_facts == assigned[-1].new_facts


# -- material change ----------------------------------------------------------------------


def test_a_new_number_or_name_in_the_lead_changes_the_story_materially() -> None:
    index = StoryIndex()
    base = index.assign(
        report(
            "bbc",
            0,
            "Blast at Gaza hospital kills at least 200, health officials say",
            "An explosion at al-Ahli hospital in Gaza City on Tuesday killed at least 200 people.",
        )
    )
    same = index.assign(
        report(
            "sky",
            1,
            "Hundreds killed in blast at Gaza City hospital",
            "At least 200 people were killed in an explosion at the al-Ahli hospital in Gaza.",
        )
    )
    toll = index.assign(
        report(
            "reuters",
            2,
            "Gaza hospital blast: death toll rises to 471, officials say",
            "Officials in Gaza said 471 people were killed in the al-Ahli hospital explosion.",
        )
    )
    name = index.assign(
        report(
            "aljazeera",
            3,
            "Gaza hospital blast: Biden says blame lies elsewhere as toll stands at 471",
            "Joe Biden said the explosion at al-Ahli hospital in Gaza appeared to be caused by "
            "'the other team'.",
        )
    )
    assert base.new and base.material
    assert {same.story_id, toll.story_id, name.story_id} == {base.story_id}
    assert same.new_facts == frozenset() and not same.material
    assert toll.new_facts == {"471"} and toll.material
    assert name.new_facts == {"biden", "joe"}


def test_facts_are_names_and_numbers_not_weekdays_dates_years_or_titles() -> None:
    found = facts(
        report(
            "bbc",
            0,
            "President Macron meets NATO chiefs in Paris on Tuesday",
            "The French president met the alliance's leaders on October 12, 2024, and pledged "
            "3,000 troops to Romania.",
        )
    )
    assert found == {"macron", "nato", "paris", "french", "3000", "romania"}


def test_a_nationality_counts_as_its_country_when_comparing_facts() -> None:
    story = mentions(report("bbc", 0, "Israel strikes Gaza", "Israel said it hit France."))
    later = report("sky", 1, "Israeli jets strike Gaza again", "The French foreign minister spoke.")
    assert material_facts(story, later) == frozenset()


# -- the real stream ----------------------------------------------------------------------


def _when(i: Item) -> datetime:
    return i.published


@functools.cache
def _stream_rows() -> list[dict[str, str]]:
    path = shared_path(
        "corpus", "rumca-js-RSS-Link-Database-2023", "world_outlets_2023-10_to_12.jsonl"
    )
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _stream_slice(first_day: str, last_day: str) -> list[Item]:
    """The real items published from ``first_day`` to ``last_day`` (inclusive), in order."""
    items = []
    for row in _stream_rows():
        if first_day <= row["published"][:10] <= last_day:
            items.append(normalize(stream_entry(row)))
    return sorted(items, key=_when)


# Real items, named by outlet and publication time (the corpus text stays in ../shared).
SKY, NYT, BBC, AJ = "Sky News (world)", "NYT (world)", "BBC News (top)", "Al Jazeera (all)"
WP = "Washington Post (world)"
SAME_EVENT = [  # the Prague shooting, a Nobel prize, a ship hijacked, a death
    ("2023-12-20", [(SKY, "2023-12-21T14:10:00"), (NYT, "2023-12-21T16:10:01")]),
    (
        "2023-12-20",
        [(SKY, "2023-12-21T14:10:00"), ("Washington Post (world)", "2023-12-21T16:52:02")],
    ),
    ("2023-10-05", [(SKY, "2023-10-06T06:49:00"), (BBC, "2023-10-06T11:43:46")]),
    ("2023-11-18", [(NYT, "2023-11-19T16:17:55"), (BBC, "2023-11-19T18:19:53")]),
    ("2023-12-26", [(SKY, "2023-12-27T17:25:00"), (NYT, "2023-12-28T00:15:42")]),
]
DIFFERENT_EVENTS = [  # two previews, two wars' key events, snow in two cities, two airports
    ("2023-10-12", [(BBC, "2023-10-13T11:00:01"), (AJ, "2023-10-13T13:57:25")]),
    ("2023-10-15", [(AJ, "2023-10-16T00:50:47"), (AJ, "2023-10-16T06:58:28")]),
    (
        "2023-12-01",
        [("Reuters (world)", "2023-12-02T09:40:45.025621"), (BBC, "2023-12-02T10:05:44")],
    ),
    ("2023-10-10", [("Le Monde (English)", "2023-10-11T03:32:49"), (SKY, "2023-10-11T15:01:00")]),
]


def _labelled(cases: list[tuple[str, list[tuple[str, str]]]]) -> list[list[str]]:
    """For each case, the story ids of its items, clustering the real stream from its day."""
    out = []
    for first_day, refs in cases:
        last_day = max(when for _, when in refs)[:10]
        index = StoryIndex()
        story: dict[tuple[str, str], list[str]] = {}
        for i in _stream_slice(first_day, last_day):
            story.setdefault((i.source, i.published.isoformat()), []).append(
                index.assign(i).story_id
            )
        found = [story[(outlet, f"{when}+00:00")] for outlet, when in refs]
        if any(len(ids) != 1 for ids in found):
            raise LookupError(f"a reference in {refs} does not name exactly one item")
        out.append([ids[0] for ids in found])
    return out


def test_real_reports_of_one_event_join_one_story() -> None:
    for ids in _labelled(SAME_EVENT):
        assert len(set(ids)) == 1


def test_real_reports_of_different_events_stay_apart() -> None:
    for ids in _labelled(DIFFERENT_EVENTS):
        assert len(set(ids)) == len(ids)


@pytest.mark.xfail(
    raises=AssertionError,
    strict=True,
    reason="known limit: words do not say who attacked whom; Ukraine's strike on Belgorod the "
    "day after Russia's barrage reads like more of the barrage",
)
def test_a_counter_attack_the_next_day_is_another_story() -> None:
    barrage = [("NPR (news)", "2023-12-29T11:21:25")]  # Russia's barrage on Ukraine
    belgorod = [("BBC News (top)", "2023-12-30T09:40:46")]  # Ukraine's strike on Russia
    [ids] = _labelled([("2023-12-28", barrage + belgorod)])
    assert ids[0] != ids[1]
