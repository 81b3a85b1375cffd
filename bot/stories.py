"""Story clustering: items from any sources that report the same event join one story.

A pure, incremental stage. :class:`StoryIndex` holds the items of the last ``window`` (48 h by
default, on ``Item.published``) and gives each new item the story it joins, or a new one.
Precision comes first: two reports that only share a subject must stay apart, so a missed
merge (two alerts for one event) is preferred to a wrong one (an event hidden in another).

How an item finds its story, at a cost per item that does not grow with the stream:

1. **Words.** Title and description become content words: lower case, lemmatized
   (killed -> kill, talks -> talk), stopwords and weekday/month names dropped, "U.S." -> "us",
   "cease-fire" -> "ceasefire", "al-Shifa" -> "shifa". Numbers are words too.
2. **Weights.** A word weighs its inverse document frequency *within the window*, so what
   every item of the week says ("gaza", "war") counts little and a name or a number a lot; a
   title word counts :data:`TITLE_BOOST` times more. The frequency is smoothed with
   :data:`PRIOR_ITEMS` pseudo-items, so a nearly empty index (start-up, tests) still works.
3. **Candidates.** An inverted index keeps, per word, the last :data:`MAX_POSTINGS` items that
   have it. Only the postings of the item's *distinctive* words are read (words that at most
   about one item in 20 of the window has, :data:`DISTINCTIVE_IDF`), and the
   :data:`MAX_CANDIDATES` items sharing the most weight are verified: a bounded amount of work
   per item, however many items the window holds. Never all pairs.
4. **Verification.** The weighted cosine of the two items must reach :data:`THRESHOLD`, plus:

   - :data:`TIME_PENALTY` in proportion to the time between them (all of it at ``window``):
     the further apart, the likelier two similar reports are two events;
   - :data:`CONFLICT_PENALTY` when both headlines carry numbers and share none ("kills 12",
     "kills 40": outlets disagree on tolls, so this is not a veto);
   - :data:`NAMES_PENALTY` when each headline names someone or somewhere (a word that is not
     an ordinary English word) that the other item never mentions in any form ("Luton airport
     suspends flights", "BA suspends Tel Aviv flights");
   - :data:`SAME_SOURCE_PENALTY` for two items of one source.

   And these must hold, whatever the cosine:

   - the two headlines share a distinctive word (not only "gaza" and "war");
   - the story's span, first to last item, stays within ``window``: items published further
     apart than the window are never in one story, and no story grows by chaining;
   - the item resembles the story's *first* item too (cosine :data:`SEED_FLOOR`), so a story
     does not drift from event to event through intermediate items;
   - a match report ("Wales v Argentina: …", "England 30-24 Fiji: …") joins, and is joined by,
     only items whose headline names one of its sides, and a story opened by a match report
     only takes such items: a tournament's matches of one weekend share nearly every word;
   - an item from a source already in the story is not an edition of a series of that source:
     the same headline but for numbers and weekdays ("Friday Briefing", "Monday Briefing"),
     or headline numbers that conflict ("List of key events, day 600" and "day 601").
     Otherwise items of the same source join (an outlet updating its own report).

   The story with the best margin over its threshold wins; ties go to the older story.

Story ids are ``"st-"`` and 16 hex digits of the SHA-256 of the story's first item's dedup key.
Nothing is random and word weights are summed in sorted order, so the same items in the same
order get the same ids in every process; :func:`assign_all` sorts a batch by published time
first, so a batch gets the same ids in any order. At start-up the pipeline replays the stored
items of the last window with :meth:`StoryIndex.add_known`, which restores the same state.

**Material change.** An item that joins a story *changes it materially* when its lead (title
and first sentence of the description) states a fact that no item of the story mentioned
anywhere in its title or description (:func:`facts`, :func:`material_facts`):

- a number, except the day of a date ("October 12") and the year of publication (or the year
  before or after);
- a name: a capitalized word or an acronym ("NATO"). At the start of a sentence or anywhere in
  a Title Case headline a capitalized word counts only if it is not an ordinary English word
  ("Police" no, "Biden" yes). Weekdays, months, and titles and institutions ("President",
  "Supreme Court", "Police") never count. A name the story had in another form is not new:
  "Israeli" for "Israel", "Iraqi" for "Iraq", "French" for "France".

The pipeline edits the story's alert for an item that does not change it materially and
sends a new alert for one that does (:attr:`StoryAssignment.material`).
"""

from __future__ import annotations

import hashlib
import heapq
import math
import re
from collections import Counter, deque
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from bot.models import Item
from bot.summarize import split_sentences

__all__ = [
    "WINDOW",
    "StoryAssignment",
    "StoryIndex",
    "assign_all",
    "facts",
    "load_dictionary",
    "material_facts",
    "mentions",
    "story_id_for",
]

WINDOW = timedelta(hours=48)
THRESHOLD = 0.30
"""Cosine two items published at the same time need to be one story."""
TIME_PENALTY = 0.15
"""Added to the threshold in proportion to the time between the items (all of it at ``window``)."""
CONFLICT_PENALTY = 0.15
"""Added when both titles carry numbers and share none."""
SAME_SOURCE_PENALTY = 0.10
"""Added when both items come from the same source."""
NAMES_PENALTY = 0.15
"""Added when each headline names people or places the other item never mentions."""
SEED_FLOOR = 0.15
"""A joining item must resemble the story's first item at least this much (no drift)."""
DISTINCTIVE_IDF = math.log(20)
"""A word in at most about one item in 20 of the window is distinctive (not "gaza", "war")."""
TITLE_BOOST = 1.5
"""A headline word weighs this much more than a word of the description."""
PRIOR_ITEMS = 200
"""Pseudo-items that have none of the words, added to the window when weighing them."""
MAX_POSTINGS = 64
"""Items remembered per word (the most recent): bounds the work per item in a burst."""
MAX_CANDIDATES = 12
"""Candidates verified per item, those sharing the most weight with it."""

_STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if
    in into is it its itself just me more most my myself no nor not now of off on once only
    or other our ours out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up very was
    we were what when where which while who whom why will with would you your yours said
    says say told according may might must new news live latest update updates get gets got
    go goes going make makes made one two first last year years day days week weeks time
    amid back still yet via per al el
    monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow
    january february march april june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    """.split()  # noqa: SIM905
)
_CALENDAR = frozenset(
    """
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december
    """.split()  # noqa: SIM905
)
_ARTICLES = frozenset({"al", "el"})
_ACRONYM_DOTS = re.compile(r"\b(?:[A-Za-z]\.){2,}")
_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?|[^\W\d_]+(?:['’][^\W\d_]+)*(?:-[^\W\d_]+)*")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE = re.compile(
    rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b",
    re.IGNORECASE,
)
_GENERIC = frozenset(
    """
    president presidents prime minister ministers secretary chancellor king queen prince
    princess lady first court supreme high justice security council united nations house
    senate congress parliament government police army navy department ministry party union
    state states republic national international general assembly commission european world
    cup prize explainer briefing analysis opinion watch video live breaking exclusive
    premier league university city north south east west northern southern eastern western
    democratic democrat democrats republican republicans labour conservative conservatives
    tory tories strip sir mp mps pm
    """.split()  # noqa: SIM905
)
_NAME = re.compile(r"[A-Z][\w'’]*(?:-[A-Za-z][\w'’]*)*")


@lru_cache(maxsize=1 << 16)
def _lemma(word: str) -> str:
    """One lemma per lower-case word, deterministic: verb, else noun, else adjective."""
    lemmas = _lemmas(word)
    for pos in ("VERB", "NOUN", "ADJ", "ADV"):
        if pos in lemmas:
            return str(lemmas[pos][0]).lower()
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]  # names and words outside the dictionary: their plural at least
    return word


def _lemmas(word: str) -> dict[str, tuple[str, ...]]:
    """lemminflect's lemmas of ``word``; lemminflect (and numpy with it) is imported at the
    first word, not with this module: commands that never group stories do not load it."""
    from lemminflect import getAllLemmas as lemmas

    found: dict[str, tuple[str, ...]] = lemmas(word)
    return found


def load_dictionary() -> None:
    """Import lemminflect and read its lemma table now (0.2-0.3 s), rather than at the first
    word: a service calls this at start-up, off the event loop, so no poll pays it there."""
    _lemmas("news")


@lru_cache(maxsize=1 << 16)
def _is_word(low: str) -> bool:
    """An ordinary English word (in lemminflect's dictionary), not a name."""
    return bool(_lemmas(low))


def _words(text: str) -> list[str]:
    """Content words of ``text``, lemmatized; numbers without thousands separators."""
    text = _ACRONYM_DOTS.sub(lambda m: m.group().replace(".", ""), text)
    out: list[str] = []
    for token in _TOKEN.findall(text):
        if token[0].isdigit():
            out.append(token.replace(",", ""))
            continue
        token = token.lower().replace("’", "'")
        if token.endswith("'s"):
            token = token[:-2]
        if "-" in token:
            parts = [p for p in token.split("-") if p not in _ARTICLES]  # al-Shifa: shifa
            # "cease-fire" is one word; "Israel-Hamas" names two things.
            if len(parts) == 2 and all(len(p) <= 5 for p in parts):
                candidates = ["".join(parts)]
            else:
                candidates = parts
        else:
            candidates = [token]
        for word in candidates:
            if len(word) > 1 and word not in _STOPWORDS:
                out.append(_lemma(word))
    return out


def _numbers(text: str) -> frozenset[str]:
    return frozenset(n.replace(",", "") for n in _NUMBER.findall(text))


def _fact_numbers(text: str, year: int) -> set[str]:
    """Numbers that state something: not the day of a date, not the current year."""
    text = _DATE.sub(" ", text)
    return {
        n
        for n in (m.replace(",", "") for m in _NUMBER.findall(text))
        if not (len(n) == 4 and n.isdigit() and abs(int(n) - year) <= 1)
    }


def _series(title: str) -> str:
    """A title less its numbers and calendar words: what editions of a series share."""
    words = re.findall(r"[^\W\d_]+", title.lower())
    return " ".join(w for w in words if w not in _CALENDAR)


_FIXTURE = re.compile(  # "Wales v Argentina: …", "Cup: England 30-24 Fiji - …"
    r"^(?:[^:]*:\s*)?(?P<a>[^:,;|]+?)\s+(?:v|vs\.?|versus|\d+\s*-\s*\d+)\s+"
    r"(?P<b>[^:,;|]+?)(?:$|:|,|;|\||\s[-–—]\s)"
)
_CAPS = re.compile(r"\b[A-Z][\w'’]*")


def _caps(text: str) -> frozenset[str]:
    """The capitalized words of ``text``, lower case, without a possessive."""
    return frozenset(w.lower().replace("’", "'").removesuffix("'s") for w in _CAPS.findall(text))


def _fixture(title: str) -> frozenset[str]:
    """The sides of a match ("Wales v Argentina", "England 30-24 Fiji"): their capitalized
    words, lower case; empty when the headline is not a fixture."""
    m = _FIXTURE.match(title)
    if not m:
        return frozenset()
    a, b = _caps(m.group("a")), _caps(m.group("b"))
    return a | b if a and b else frozenset()


def _is_title_case(title: str) -> bool:
    words = [w for w in re.findall(r"[^\W\d_]+", title) if len(w) > 3]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.75 * len(words)


def _names(sentence: str, *, title_case: bool = False) -> set[str]:
    """Capitalized words that name someone or something, lower case, hyphenated names split.

    A capitalized word at the start of the sentence, or anywhere in a Title Case headline,
    counts only if it is not an ordinary English word ("Police" no, "Biden" yes); acronyms
    always count; generic titles and institutions ("President", "Supreme Court") never do.
    """
    out: set[str] = set()
    sentence = _ACRONYM_DOTS.sub(lambda m: m.group().replace(".", ""), sentence)
    for m in _NAME.finditer(sentence):
        at_start = not sentence[: m.start()].strip(" \"'“‘([—–-")
        for part in m.group().replace("’", "'").strip("'").split("-"):
            word = part.removesuffix("'s").strip("'")
            low = word.lower()
            if len(word) < 2 or low in _CALENDAR or low in _GENERIC or not word[0].isupper():
                continue
            if word.isupper():
                out.add(low)
            elif low in _STOPWORDS or ((at_start or title_case) and _is_word(low)):
                continue
            else:
                out.add(low)
    return out


def _title_names(title: str) -> frozenset[str]:
    return frozenset(_names(title, title_case=_is_title_case(title)))


def _lead(item: Item) -> str:
    body = item.description or item.text
    sentences = split_sentences(body[:1000]) if body else []
    return sentences[0] if sentences else ""


def facts(item: Item) -> frozenset[str]:
    """Names and numbers in the item's lead: its title and the first sentence of its text."""
    lead = _lead(item)
    year = item.published.year
    return frozenset(
        _title_names(item.title)
        | _names(lead)
        | _fact_numbers(item.title, year)
        | _fact_numbers(lead, year)
    )


def mentions(item: Item) -> frozenset[str]:
    """Every word and name (lower case, hyphenated ones split, "COP28" whole) and number of
    the title and text, and the country of every nationality ("french" -> "france")."""
    body = item.description or item.text[:2000]
    text = _ACRONYM_DOTS.sub(lambda m: m.group().replace(".", ""), f"{item.title}\n{body}")
    text = text.replace("’", "'")
    tokens = _TOKEN.findall(text) + _NAME.findall(text)
    words = {w.removesuffix("'s").strip("'") for t in tokens for w in t.lower().split("-")}
    words |= {_COUNTRY[w] for w in words if w in _COUNTRY}
    return frozenset(words | _numbers(text))


_DEMONYM_ENDINGS = ("i", "is", "s", "n", "ns", "an", "ans", "ian", "ians", "ese")
_COUNTRY = {
    word: group.split()[0]
    for group in (
        "us america american americans",
        "uk britain british briton britons england english",
        "france french",
        "poland polish",
        "netherlands dutch holland",
        "turkey turkish turkiye",
        "spain spanish",
        "sweden swedish swede swedes",
        "denmark danish dane danes",
        "finland finnish finn finns",
        "switzerland swiss",
        "greece greek greeks",
        "ireland irish",
        "scotland scottish scot scots",
        "wales welsh",
        "thailand thai thais",
        "philippines philippine filipino filipinos",
        "china chinese",
        "lebanon lebanese",
        "portugal portuguese",
        "peru peruvian peruvians",
        "czech czechia",
        "iceland icelandic",
        "gaza gazan gazans",
        "palestine palestinian palestinians",
        "ukraine ukrainian ukrainians",
        "argentina argentine argentinian argentinians",
    )
    for word in group.split()
}


def _known(name: str, known: Collection[str], prefixes: Collection[str]) -> bool:
    """``name`` or another form of it is in ``known``: "Israeli" for "Israel", "Iraq" for
    "Iraqi", "French" for "France" (the same first six letters, the same name but for a
    demonym ending, or a nationality for its country)."""
    if name in known or _COUNTRY.get(name) in known or (len(name) >= 6 and name[:6] in prefixes):
        return True
    if not name[0].isalpha():
        return False
    return any(
        (name.endswith(e) and name[: -len(e)] in known) or name + e in known
        for e in _DEMONYM_ENDINGS
    )


def _prefixes(words: Iterable[str]) -> frozenset[str]:
    return frozenset(w[:6] for w in words if len(w) >= 6)


def material_facts(known: Collection[str], item: Item) -> frozenset[str]:
    """The facts of ``item``'s lead that ``known`` (the :func:`mentions` of a story) lacks.

    A name counts as known in another form too: "Israeli" when the story said "Israel".
    """
    prefixes = _prefixes(known)
    return frozenset(f for f in facts(item) if not _known(f, known, prefixes))


def story_id_for(first_key: str) -> str:
    """The story id of a story whose first item has the dedup key ``first_key``."""
    return "st-" + hashlib.sha256(first_key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class StoryAssignment:
    """The story an item joined: its id, whether the item started it, and why it joined.

    ``similarity`` is the cosine to the closest item of the story (0 for a new story),
    ``matched_key`` that item's key; ``new_facts`` the names and numbers of the item's lead
    the story had not mentioned before (all of them for a new story).
    """

    story_id: str
    new: bool
    similarity: float = 0.0
    matched_key: str | None = None
    new_facts: frozenset[str] = frozenset()

    @property
    def material(self) -> bool:
        """A new story, or news for an existing one: send a new alert rather than edit."""
        return self.new or bool(self.new_facts)


@dataclass(frozen=True, slots=True)
class _Features:
    """What clustering looks at in an item, computed once."""

    title_words: frozenset[str]
    words: tuple[str, ...]
    """Sorted, so that sums of weights add up in the same order in every process."""
    title_numbers: frozenset[str]
    series: str
    title_names: frozenset[str]
    mentions: frozenset[str]
    prefixes: frozenset[str]
    fixture: frozenset[str]
    title_caps: frozenset[str]

    @classmethod
    def of(cls, item: Item) -> _Features:
        title_words = frozenset(_words(item.title))
        body = item.description or item.text[:1000]
        said = mentions(item)
        return cls(
            title_words=title_words,
            words=tuple(sorted(title_words.union(_words(body)))),
            title_numbers=_numbers(item.title),
            series=_series(item.title),
            title_names=frozenset(n for n in _title_names(item.title) if not _is_word(n)),
            mentions=said,
            prefixes=_prefixes(said),
            fixture=_fixture(item.title),
            title_caps=_caps(item.title),
        )


@dataclass(slots=True)
class _Entry:
    seq: int
    key: str
    source: str
    title: str
    published: datetime
    story: str
    features: _Features


@dataclass(slots=True)
class _Story:
    id: str
    first: _Entry
    start: datetime
    end: datetime
    members: list[_Entry] = field(default_factory=list)
    live: int = 0
    mentions: set[str] = field(default_factory=set)


class StoryIndex:
    """The stories of the last ``window``: assign items to them, one at a time.

    Deterministic: the same items in the same order give the same story ids. Memory holds
    the items of one window: :meth:`assign` forgets what is older than ``window`` before the
    newest item seen, and :meth:`forget_before` forgets earlier on demand.
    """

    def __init__(
        self,
        window: timedelta = WINDOW,
        *,
        threshold: float = THRESHOLD,
        max_postings: int = MAX_POSTINGS,
    ) -> None:
        self.window = window
        self.threshold = threshold
        self.max_postings = max_postings
        self._entries: dict[int, _Entry] = {}
        self._by_key: dict[str, _Entry] = {}
        self._postings: dict[str, deque[int]] = {}
        self._df: Counter[str] = Counter()
        self._stories: dict[str, _Story] = {}
        self._expiry: list[tuple[datetime, int]] = []
        self._seq = 0
        self._newest: datetime | None = None

    def __len__(self) -> int:
        """Items held (those of the window)."""
        return len(self._entries)

    @property
    def story_count(self) -> int:
        """Stories with at least one item held."""
        return len(self._stories)

    def story_of(self, key: str) -> str | None:
        """The story of the held item with dedup key ``key``, if any."""
        entry = self._by_key.get(key)
        return entry.story if entry else None

    # -- public operations -------------------------------------------------------------

    def assign(self, item: Item) -> StoryAssignment:
        """The story ``item`` joins (an existing one, or a new one it starts); remember it.

        An item already held (same dedup key) keeps its story.
        """
        known = self._by_key.get(item.key)
        if known is not None:
            return StoryAssignment(known.story, False, 1.0, known.key)
        self._advance(item.published)
        features = _Features.of(item)
        best = self._best_story(item, features)
        if best is None:
            story_id = story_id_for(item.key)
            self._add(item, story_id, features)
            return StoryAssignment(story_id, True, 0.0, None, facts(item))
        similarity, story_id, matched = best
        new_facts = material_facts(self._stories[story_id].mentions, item)
        self._add(item, story_id, features)
        return StoryAssignment(story_id, False, round(similarity, 4), matched, new_facts)

    def add_known(self, item: Item, story_id: str) -> None:
        """Hold ``item`` as a member of ``story_id`` (restoring the index from storage).

        Replay the stored items of the last window in the order they were first assigned.
        """
        if item.key in self._by_key:
            return
        self._advance(item.published)
        self._add(item, story_id, _Features.of(item))

    def forget_before(self, t: datetime) -> int:
        """Forget the items published before ``t``; return how many were forgotten."""
        forgotten = 0
        while self._expiry and self._expiry[0][0] < t:
            _, seq = heapq.heappop(self._expiry)
            entry = self._entries.pop(seq)
            del self._by_key[entry.key]
            for word in entry.features.words:
                self._df[word] -= 1
                if self._df[word] <= 0:
                    del self._df[word]
                    self._postings.pop(word, None)
                else:
                    postings = self._postings.get(word)
                    while postings and postings[0] not in self._entries:
                        postings.popleft()
            story = self._stories[entry.story]
            story.live -= 1
            if story.live <= 0:
                del self._stories[entry.story]
            forgotten += 1
        return forgotten

    # -- internals ---------------------------------------------------------------------

    def _advance(self, published: datetime) -> None:
        if self._newest is None or published > self._newest:
            self._newest = published
            self.forget_before(published - self.window)

    def _weights(
        self, features: _Features, idf: dict[str, float]
    ) -> tuple[dict[str, float], float]:
        """Each word's weight (idf, boosted in the title), and the vector's norm.

        ``idf`` caches the inverse document frequencies of one assignment.
        """
        total = len(self._entries) + PRIOR_ITEMS
        df = self._df
        title = features.title_words
        out: dict[str, float] = {}
        for word in features.words:
            weight = idf.get(word)
            if weight is None:
                weight = idf[word] = math.log(total / (df.get(word, 0) + 1))
            out[word] = weight * TITLE_BOOST if word in title else weight
        return out, math.sqrt(sum(w * w for w in out.values()))

    def _best_story(self, item: Item, mine: _Features) -> tuple[float, str, str] | None:
        idf: dict[str, float] = {}
        weights, norm = self._weights(mine, idf)
        if not norm:
            return None
        # Candidates must share a distinctive title word (below), so only the postings of
        # distinctive words are read: short lists, since those words are rare in the window.
        shared: dict[int, float] = {}
        for word, weight in weights.items():
            if idf[word] < DISTINCTIVE_IDF:
                continue
            for seq in self._postings.get(word, ()):
                shared[seq] = shared.get(seq, 0.0) + weight
        live = [(seq, weight) for seq, weight in shared.items() if seq in self._entries]
        top = heapq.nsmallest(MAX_CANDIDATES, live, key=lambda kv: (-kv[1], kv[0]))
        best: tuple[float, str, str] | None = None
        best_rank: tuple[float, int] = (0.0, 0)
        for seq, _ in top:
            entry = self._entries[seq]
            story = self._stories[entry.story]
            if max(story.end, item.published) - min(story.start, item.published) > self.window:
                continue
            theirs = entry.features
            if not any(idf[w] >= DISTINCTIVE_IDF for w in mine.title_words & theirs.title_words):
                continue
            if any(
                member.source == item.source and _editions(item.title, mine, member)
                for member in story.members
            ):
                continue
            if _other_match(mine, theirs) or _other_match(mine, story.first.features):
                continue
            gap = abs(item.published - entry.published) / self.window
            needed = self.threshold + TIME_PENALTY * min(1.0, gap)
            if entry.source == item.source:
                needed += SAME_SOURCE_PENALTY
            elif _numbers_conflict(mine, theirs):
                needed += CONFLICT_PENALTY
            similarity = self._cosine(weights, norm, theirs, idf)
            if similarity < needed:
                continue
            if _names_disjoint(mine, theirs):  # checked last: it is the dearest test
                needed += NAMES_PENALTY
                if similarity < needed:
                    continue
            if story.first is not entry and (
                story.first.seq not in self._entries
                or self._cosine(weights, norm, story.first.features, idf) < SEED_FLOOR
            ):
                continue
            rank = (similarity - needed, -story.first.seq)
            if best is None or rank > best_rank:
                best, best_rank = (similarity, story.id, entry.key), rank
        return best

    def _cosine(
        self, mine: dict[str, float], norm: float, features: _Features, idf: dict[str, float]
    ) -> float:
        theirs, other = self._weights(features, idf)
        if not other:
            return 0.0
        dot = sum(w * theirs[word] for word, w in mine.items() if word in theirs)
        return dot / (norm * other)

    def _add(self, item: Item, story_id: str, features: _Features) -> None:
        self._seq += 1
        entry = _Entry(
            self._seq, item.key, item.source, item.title, item.published, story_id, features
        )
        self._entries[entry.seq] = entry
        self._by_key[entry.key] = entry
        heapq.heappush(self._expiry, (item.published, entry.seq))
        for word in features.words:
            self._df[word] += 1
            postings = self._postings.get(word)
            if postings is None:
                postings = self._postings[word] = deque(maxlen=self.max_postings)
            postings.append(entry.seq)
        story = self._stories.get(story_id)
        if story is None:
            story = self._stories[story_id] = _Story(
                story_id, entry, item.published, item.published
            )
        story.start = min(story.start, item.published)
        story.end = max(story.end, item.published)
        story.members.append(entry)
        story.live += 1
        story.mentions |= features.mentions


def _numbers_conflict(a: _Features, b: _Features) -> bool:
    """Both headlines carry numbers and share none: "kills 12" and "kills 40"."""
    return bool(a.title_numbers and b.title_numbers and not a.title_numbers & b.title_numbers)


def _other_match(a: _Features, b: _Features) -> bool:
    """One is a match report whose sides the other headline does not name: "Wales v
    Argentina" and "Ireland v New Zealand", or "England 30-24 Fiji" and "France lose"."""
    return bool(
        (a.fixture and not a.fixture & b.title_caps) or (b.fixture and not b.fixture & a.title_caps)
    )


def _names_disjoint(a: _Features, b: _Features) -> bool:
    """Both headlines name someone or somewhere, and neither item mentions a name of the other
    headline in any form: "Munich flights cancelled" and "Glasgow Airport flights resume"."""
    return bool(
        a.title_names
        and b.title_names
        and not any(_known(n, b.mentions, b.prefixes) for n in a.title_names)
        and not any(_known(n, a.mentions, a.prefixes) for n in b.title_names)
    )


def _editions(title: str, mine: _Features, other: _Entry) -> bool:
    """Two items of one source that are editions of a series, not an update of one report:
    the same headline but for numbers and weekdays ("Friday Briefing", "Monday Briefing";
    "key events, day 585", "day 586"), or conflicting numbers in the headlines."""
    theirs = other.features
    if mine.series == theirs.series and title != other.title:
        return True
    return _numbers_conflict(mine, theirs)


def assign_all(items: Sequence[Item], window: timedelta = WINDOW) -> list[StoryAssignment]:
    """The stories of a batch of items (``newsbot match --json``, evaluation), in their order.

    The items are assigned with a fresh index in published order, ties broken by dedup key,
    whatever order they come in: the same set of items always gets the same story ids.
    """
    index = StoryIndex(window)
    order = sorted(range(len(items)), key=lambda n: (items[n].published, items[n].key))
    assigned: dict[int, StoryAssignment] = {n: index.assign(items[n]) for n in order}
    return [assigned[n] for n in range(len(items))]
