"""Routing as a pure function: one case per rule, each with the deliveries it must give."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.models import Chat
from bot.routing import (
    CONSOLE_CHAT_ID,
    Audience,
    Delivery,
    Routable,
    Subscription,
    broadcast_recipients,
    route,
    story_mute,
)
from tests.factories import T0

LATER = T0 + timedelta(hours=1)
EARLIER = T0 - timedelta(hours=1)

CASES: list[tuple[str, list[Routable], Audience, list[Delivery]]] = [
    (
        "one alert per subscribed chat, its topics in match order",
        [Routable(10, ("isis", "troops"))],
        Audience(
            [
                Subscription(1, "isis"),
                Subscription(2, "troops"),
                Subscription(2, "isis"),
                Subscription(3, "other"),
            ]
        ),
        [Delivery(10, 1, ("isis",)), Delivery(10, 2, ("isis", "troops"))],
    ),
    ("no matches, no alert", [Routable(10, ())], Audience([Subscription(1, "isis")]), []),
    (
        "an inactive chat gets nothing",
        [Routable(10, ("isis",))],
        Audience([Subscription(1, "isis", active=False), Subscription(2, "isis")]),
        [Delivery(10, 2, ("isis",))],
    ),
    (
        "digest mode waits for the digest; instant and both alert",
        [Routable(10, ("isis",))],
        Audience(
            [
                Subscription(1, "isis", "digest"),
                Subscription(2, "isis", "instant"),
                Subscription(3, "isis", "both"),
            ]
        ),
        [Delivery(10, 2, ("isis",)), Delivery(10, 3, ("isis",))],
    ),
    (
        "a muted topic is left out, the chat still gets the others",
        [Routable(10, ("isis", "troops"))],
        Audience(
            [Subscription(1, "isis"), Subscription(1, "troops"), Subscription(2, "isis")],
            mutes={(1, "isis"): LATER, (2, "troops"): LATER},
        ),
        [Delivery(10, 1, ("troops",)), Delivery(10, 2, ("isis",))],
    ),
    (
        "a mute that ended (or ends now) counts for nothing",
        [Routable(10, ("isis",))],
        Audience(
            [Subscription(1, "isis"), Subscription(2, "isis")],
            mutes={(1, "isis"): EARLIER, (2, "isis"): T0},
        ),
        [Delivery(10, 1, ("isis",)), Delivery(10, 2, ("isis",))],
    ),
    (
        "every topic muted: no alert",
        [Routable(10, ("isis",))],
        Audience([Subscription(1, "isis")], mutes={(1, "isis"): LATER}),
        [],
    ),
    (
        "a muted story gets nothing, whatever the topic",
        [Routable(10, ("isis",), story="s1"), Routable(11, ("isis",), story="s2")],
        Audience([Subscription(1, "isis")], mutes={(1, story_mute("s1")): LATER}),
        [Delivery(11, 1, ("isis",))],
    ),
    (
        "a story mute that ended counts for nothing",
        [Routable(10, ("isis",), story="s1")],
        Audience([Subscription(1, "isis")], mutes={(1, story_mute("s1")): EARLIER}),
        [Delivery(10, 1, ("isis",))],
    ),
    (
        "urgent when one of the chat's alerting topics is urgent",
        [Routable(10, ("isis", "troops"))],
        Audience(
            [
                Subscription(1, "isis"),
                Subscription(1, "troops", urgent=True),
                Subscription(2, "isis"),
            ]
        ),
        [Delivery(10, 1, ("isis", "troops"), urgent=True), Delivery(10, 2, ("isis",))],
    ),
    (
        "an urgent topic that is muted does not make the alert urgent",
        [Routable(10, ("isis", "troops"))],
        Audience(
            [Subscription(1, "isis"), Subscription(1, "troops", urgent=True)],
            mutes={(1, "troops"): LATER},
        ),
        [Delivery(10, 1, ("isis",))],
    ),
    (
        "an urgent topic in digest mode does not alert",
        [Routable(10, ("isis", "troops"))],
        Audience([Subscription(1, "isis"), Subscription(1, "troops", "digest", urgent=True)]),
        [Delivery(10, 1, ("isis",))],
    ),
    (
        "no news for the story: the chat's alert of it is edited",
        [Routable(20, ("isis",), story="s1", material=False)],
        Audience(
            [Subscription(1, "isis"), Subscription(2, "isis")],
            heads={("s1", 1): 10, ("s2", 2): 12},
        ),
        [Delivery(20, 1, ("isis",), edit_of=10), Delivery(20, 2, ("isis",))],
    ),
    (
        "news for the story: a new alert even where one exists",
        [Routable(20, ("isis",), story="s1", material=True)],
        Audience([Subscription(1, "isis")], heads={("s1", 1): 10}),
        [Delivery(20, 1, ("isis",))],
    ),
    (
        "an item without a story never edits",
        [Routable(20, ("isis",), story="", material=False)],
        Audience([Subscription(1, "isis")], heads={("", 1): 10}),
        [Delivery(20, 1, ("isis",))],
    ),
    (
        "an alert made earlier in the batch is the head a later update edits",
        [
            Routable(20, ("isis",), story="s1"),
            Routable(21, ("isis",), story="s1", material=False),
            Routable(22, ("isis",), story="s1", material=False),
        ],
        Audience([Subscription(1, "isis")], heads={("s1", 1): 10}),
        [
            Delivery(20, 1, ("isis",)),
            Delivery(21, 1, ("isis",), edit_of=20),
            Delivery(22, 1, ("isis",), edit_of=20),
        ],
    ),
    (
        "an update with no head yet becomes the head",
        [
            Routable(20, ("isis",), story="s1", material=False),
            Routable(21, ("isis",), story="s1", material=False),
        ],
        Audience([Subscription(1, "isis")]),
        [Delivery(20, 1, ("isis",)), Delivery(21, 1, ("isis",), edit_of=20)],
    ),
    (
        "a watch routes like a topic, to its chat only",
        [Routable(10, ("watch:1:mine", "isis"))],
        Audience([Subscription(1, "watch:1:mine"), Subscription(2, "isis")]),
        [Delivery(10, 1, ("watch:1:mine",)), Delivery(10, 2, ("isis",))],
    ),
    (
        "the console and channels are routed like any chat",
        [Routable(10, ("isis",))],
        Audience([Subscription(CONSOLE_CHAT_ID, "isis"), Subscription(-100, "isis")]),
        [Delivery(10, CONSOLE_CHAT_ID, ("isis",)), Delivery(10, -100, ("isis",))],
    ),
]


def _key(d: Delivery) -> tuple[int, int]:
    return d.item_ref, d.chat_id


@pytest.mark.parametrize(
    ("items", "audience", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_route(items: list[Routable], audience: Audience, expected: list[Delivery]) -> None:
    assert sorted(route(items, audience, T0), key=_key) == sorted(expected, key=_key)


def test_route_gives_each_chat_one_alert_per_item() -> None:
    twice = Audience([Subscription(1, "isis"), Subscription(1, "isis")])
    assert route([Routable(10, ("isis",))], twice, T0) == [Delivery(10, 1, ("isis",))]


def test_broadcast_goes_to_every_active_chat_but_the_console() -> None:
    chats = [
        Chat(CONSOLE_CHAT_ID, "console"),
        Chat(1, "private"),
        Chat(2, "private", active=False),
        Chat(-100, "channel"),
    ]
    assert broadcast_recipients(chats) == [1, -100]
