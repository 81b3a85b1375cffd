"""The button codec (bot/actions.py): what render writes, the handlers read back."""

from __future__ import annotations

import re

import pytest

from bot import actions
from bot.actions import Action
from bot.telegram.commands import CALLBACKS


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (actions.toggle("troop-withdrawal"), Action("t", ("troop-withdrawal",))),
        (actions.vote(42, -1), Action("fb", ("-1", "42"))),
        (actions.vote(7, 1), Action("fb", ("1", "7"))),
        (actions.mute_topic("watch:5:a"), Action("mute", ("watch:5:a",))),
        (actions.more_like_this("isis"), Action("more", ("isis",))),
        (actions.mute_story(9), Action("ms", ("9",))),
        (actions.setting("previews"), Action("set", ("previews",))),
        (actions.setting("unmute", "story:ab:c"), Action("set", ("unmute", "story:ab:c"))),
    ],
)
def test_what_is_written_reads_back(data: str, expected: Action) -> None:
    assert actions.parse(data) == expected
    assert re.match(actions.PATTERNS[expected.kind], data)


@pytest.mark.parametrize("data", ["", "nope:1", "fb:2:1", "fb:1:x", "ms:abc", "fb:1"])
def test_data_of_no_action_is_refused(data: str) -> None:
    assert actions.parse(data) is None


def test_only_what_fits_in_a_button_is_used() -> None:
    assert actions.fits(actions.mute_topic("x" * 59))
    assert not actions.fits(actions.mute_topic("x" * 60))
    assert not actions.fits(actions.mute_topic("é" * 30))  # bytes, not characters


def test_every_kind_of_action_has_its_handler() -> None:
    assert set(CALLBACKS) == set(actions.PATTERNS)
