"""Extractive summaries, offline: pick the sentences that carry the item, keep their order.

Short feed items (a description of a few sentences) are returned cleaned, as they are.
Longer texts are summarized in four steps, all pure Python and computed within the document
(no model, no download):

1. **Clean**: a leading dateline ("LONDON (Reuters) -") is stripped, and boilerplate
   ("Read more: …", "Sign up for …", "[embed markup]", bylines, photo credits), headings (a
   paragraph of one line without a full stop) and fragments are not candidates.
2. **Centrality** (LexRank): sentences are TF-IDF vectors (IDF from the document's own
   sentences); PageRank over their cosine similarities says which sentences the rest of the
   text keeps coming back to.
3. **Score**: centrality + a lead prior (news puts the main facts in the first sentences) +
   similarity to the title (the editor's own summary of the subject).
4. **Select** with MMR: the best sentence first, then those that add most beyond what is
   chosen, so a repeated fact is not said twice; within ``max_chars``; in document order.

:func:`best_summary` picks, among several reports of one story, the one to summarize.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence

__all__ = ["SHORT_TEXT_CHARS", "best_summary", "split_sentences", "summarize"]

SHORT_TEXT_CHARS = 400

# --------------------------------------------------------------------------- sentence splitting

# Abbreviations that never end a sentence: a name or a noun always follows ("Dr. Smith").
_PREFIX_ABBREVIATIONS = frozenset(
    """
    Mr Mrs Ms Messrs Dr Drs Prof Gen Gens Lt Col Sgt Capt Cpl Pvt Maj Adm Cmdr Cmdt Gov Govs
    Sen Sens Rep Reps Pres Supt Det Insp Atty Rev Hon Msgr Fr St Ste Mt Ft vs v e.g i.e cf
    approx Dept dept est
    """.split()  # noqa: SIM905
)
# Abbreviations that may also end a sentence ("… moved to the U.S. The family …"): a boundary
# only when a common sentence opener follows (see _OPENERS). Dotted acronyms ("U.S.", "D.C.",
# "a.m.") and single initials ("J.") are treated the same way without being listed.
_FINAL_ABBREVIATIONS = frozenset(
    """
    Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Inc Ltd Co Corp Bros Jr Sr etc al
    Ala Ariz Ark Calif Colo Conn Del Fla Ga Ill Ind Kan Ky La Md Mass Mich Minn Miss Mo Mont
    Neb Nev Okla Ore Pa Tenn Tex Va Vt Wash Wis Wyo
    """.split()  # noqa: SIM905
)
# Abbreviations that a number follows ("No. 10", "Vol. 3"): before a word they end a sentence.
_NUMBER_ABBREVIATIONS = frozenset(
    """
    No no Nos nos Vol Vols Art Fig Figs Ch Sec pp p Nr
    """.split()  # noqa: SIM905
)
# Capitalized words that open sentences but rarely follow "U.S." or "Jan." inside one.
_OPENERS = frozenset(
    """
    The A An He She It They We I You His Her Its Their Our My Your This That These Those There
    Here But And Or So Yet If When While After Before As In On At For From With By Of To
    Since Although Though Because However Meanwhile Still Then Now Also Some Many Most Both
    Each All Such What Who Why How Where Which Last Next Earlier Later Officials Police
    Another Other One Instead Despite During Under Over Nor Not No Yes Asked According Even
    Only Until Unlike Like Without Within Among Between Throughout Once Several Few Two Three
    """.split()  # noqa: SIM905
)
# Verbs of speech: "“Why?” Smith asked." is one sentence, not two.
_SPEECH_VERBS = frozenset(
    """
    said says asked asks added adds told tells wrote writes replied replies tweeted posted
    shouted wondered recalled explained continued insisted declared exclaimed noted quipped
    joked remarked answered chanted cried yelled shrugs shrugged argued warned
    """.split()  # noqa: SIM905
)
# A candidate boundary: . ! ? or an ellipsis, closing quotes or brackets, space, then a capital
# letter or digit, perhaps behind an opening quote or bracket. Decimals ("2.5") have no space.
_BOUNDARY = re.compile(r"([.!?…]+[\"'”’)\]]*)\s+(?=[\"'“‘(\[]*[A-Z0-9])")
_FOLLOWER = re.compile(r"[\"'“‘(\[]*([^\W_][\w'’-]*)(\.?)")
_DOTTED = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")  # "U.S" once the final dot is off: "U.S."
_OPENING_PUNCT = "\"'“‘([{"


def _is_boundary(paragraph: str, start: int, m: re.Match[str]) -> bool:
    """Whether the candidate boundary ``m`` really ends a sentence."""
    mark = m.group(1)
    if "?" in mark or "!" in mark:
        if mark[-1] in "\"”’'":
            # "“Why?” Smith asked." is one sentence: the question is quoted speech.
            after = paragraph[m.end() : m.end() + 40].split()[1:3]
            return not any(w.strip(",.;:").lower() in _SPEECH_VERBS for w in after)
        return True
    if mark != ".":
        return True  # an ellipsis, or "." inside a closing quote ("“We are done.” He left.")
    space = paragraph.rfind(" ", start, m.start())
    last = paragraph[max(space + 1, start) : m.start()].lstrip(_OPENING_PUNCT)
    # "then-Gov. Rick Snyder", "the U.K.-U.S. deal": the abbreviation is the last part.
    last = last.rpartition("-")[2]
    if last.isdigit() and space < start and len(last) <= 2:
        return False  # "1. Military influence": a list number, not a sentence
    if last in _PREFIX_ABBREVIATIONS:
        return False
    if last in _NUMBER_ABBREVIATIONS:
        return not paragraph[m.end() : m.end() + 1].isdigit()
    if (
        last in _FINAL_ABBREVIATIONS
        or (len(last) == 1 and last.isalpha())
        or ("." in last and _DOTTED.fullmatch(last))
    ):
        follower = _FOLLOWER.match(paragraph, m.end())
        if follower is None:
            return True
        word = follower.group(1)
        # "J. K. Rowling": a single letter with a dot is another initial, not the opener "A".
        return word in _OPENERS and not (follower.group(2) == "." and len(word) == 1)
    return True


def _split_paragraph(paragraph: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(paragraph):
        if _is_boundary(paragraph, start, m):
            sentences.append(paragraph[start : m.end(1)])
            start = m.end()
    if start < len(paragraph):
        sentences.append(paragraph[start:])
    return sentences


def _paragraphs(text: str) -> list[str]:
    """Lines of ``text`` with runs of white space collapsed; empty lines dropped."""
    return [p for p in (" ".join(line.split()) for line in text.split("\n")) if p]


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences: every line break ends one, and so does . ! ? or an
    ellipsis before a capital or a digit, unless the dot belongs to an abbreviation ("Dr.",
    "U.S. Army", "Jan. 5", "No. 10", "J. K. Rowling") or a decimal ("3.5", "$1.2 billion").

    Joining the sentences with spaces gives back the words of ``text``, none lost.
    """
    return [s for p in _paragraphs(text) for s in _split_paragraph(p)]


# --------------------------------------------------------------------------- cleaning

# Sentences that are about the page, not the story. Matched at the start, case-insensitive.
_BOILERPLATE = re.compile(
    r"""^(?:
      [\[<{].*[\]>}]$                                   # embed markup: "[time-brightcove …]"
    | \((?:photo|image|picture|video|file|credit)\b.*\)$
    | (?:read|see|watch|listen\s+to)\s+(?:more|next|also|the\s+full|here|now)\b
    | (?:related|more|also\s+read|recommended|trending)\s*(?:stories|articles|coverage)?\s*:
    | (?:sign\s+up|subscribe|click\s+here|tap\s+here|follow\s+(?:us|the|@)|download\s+(?:the|our))
    | get\s+(?:the|our)\s+[\w\s]{0,30}newsletter
    | (?:share|email|print)\s+this\b
    | (?:photo|image|picture|video|caption|credit|graphic|illustration|watch|listen)s?
        (?:\s+(?:credit|by))?\s*[:|]
    | (?:this|the)\s+(?:story|article|post|report)\s+(?:has\s+been|was|will\s+be)\s+updated
    | the\s+post\s+.+\s+appeared\s+first\s+on\b
    | copyright\b|©|all\s+rights\s+reserved
    | advertisement\s*$
    | (?:updated|published|last\s+modified)\s*:?\s*(?:\d|on\b|at\b)
    | (?:additional\s+)?(?:reporting|editing|writing|translated|produced)\s+by\b
    | as\s+told\s+to\b
    | (?:[—–-]+\s*)?[^.!?]{1,80}\bcontributed\s+(?:reporting|to\s+this)
    | from\s+.{1,80},\s+published\s+(?:at|on)\s        # the seed format's byline line
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# "By Jane Doe", "By Jane Doe and John Roe | Reuters": a byline alone on its line.
_BYLINE = re.compile(r"^By\s+(?:[A-Z][\w.'’-]*(?:\s+|,\s*|\s+and\s+|$)){1,8}(?:\|.*)?$")
# "LONDON, Jan 5 (Reuters) - ", "KYIV, Ukraine (AP) — ", "(Bloomberg) -- ", "BEIRUT, Lebanon — ".
# A caps word alone before a dash ("NATO — the alliance …") is not taken: it may be the subject.
_DATELINE = re.compile(
    r"""^(?:
      (?:[A-Z][A-Z.'’ -]{1,40}(?:,\s*[A-Z][\w.'’ -]{1,30})?\s*)?\([A-Z][\w.&/' -]{0,30}\)
    | [A-Z][A-Z.'’ -]{1,40},\s*[A-Z][\w.'’ -]{1,30}
    )\s*(?:-{1,2}|[—–])\s+""",
    re.VERBOSE,
)
_TERMINAL = re.compile(r"[.!?…][\"'”’)\]]*$")


def _is_boilerplate(sentence: str) -> bool:
    return bool(_BOILERPLATE.match(sentence) or _BYLINE.match(sentence))


def _strip_dateline(paragraph: str) -> str:
    m = _DATELINE.match(paragraph)
    return paragraph[m.end() :] if m else paragraph


# --------------------------------------------------------------------------- words and vectors

_STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if
    in into is it its itself just me more most my myself no nor not now of off on once only
    or other our ours out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up very was
    we were what when where which while who whom why will with would you your yours said
    says say told according also like one new may might must us yet s t don
    """.split()  # noqa: SIM905
)
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_STEMS: dict[str, str] = {}


def _stem(word: str) -> str:
    """A light stem, cached: possessives and plurals folded ("troops" = "troop")."""
    stem = _STEMS.get(word)
    if stem is None:
        stem = re.sub(r"['’]s$", "", word)
        if len(stem) > 4 and stem.endswith("ies"):
            stem = stem[:-3] + "y"
        elif len(stem) > 3 and stem.endswith("s") and not stem.endswith(("ss", "us", "is")):
            stem = stem[:-1]
        if len(_STEMS) < 50_000:  # bounded: the cache must not grow with a long-running bot
            _STEMS[word] = stem
    return stem


def _terms(text: str) -> list[str]:
    """Content words and numbers of ``text``, lower case, stemmed; stop words dropped."""
    stems = _STEMS
    return [
        stems.get(token) or _stem(token)
        for token in _TOKEN.findall(text.lower())
        if len(token) > 1 and token not in _STOPWORDS
    ]


def _vectors(
    bags: list[list[str]], extra: list[str]
) -> tuple[list[dict[str, float]], dict[str, float]]:
    """Unit TF-IDF vectors of ``bags`` and of ``extra`` (the title), IDF from ``bags``."""
    df: Counter[str] = Counter()
    for bag in bags:
        df.update(set(bag))
    n = len(bags)
    # Smoothed IDF: a word in every sentence still counts a little; one in none counts most.
    idf = {w: math.log((1 + n) / (1 + c)) + 1.0 for w, c in df.items()}
    default = math.log(1 + n) + 1.0

    def unit(bag: list[str]) -> dict[str, float]:
        vec = {w: tf * idf.get(w, default) for w, tf in Counter(bag).items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {w: v / norm for w, v in vec.items()}

    return [unit(bag) for bag in bags], unit(extra)


def _similarities(vectors: list[dict[str, float]]) -> list[dict[int, float]]:
    """Cosine similarity of every pair of sentences that share a word, as sparse rows.

    Summing over each word's postings costs the pairs that share a word, not all n² pairs.
    """
    postings: dict[str, list[tuple[int, float]]] = {}
    for i, vec in enumerate(vectors):
        for w, v in vec.items():
            postings.setdefault(w, []).append((i, v))
    rows: list[dict[int, float]] = [{} for _ in vectors]
    for plist in postings.values():
        for a, (i, vi) in enumerate(plist):
            row = rows[i]
            for j, vj in plist[a + 1 :]:
                row[j] = row.get(j, 0.0) + vi * vj
    for i, row in enumerate(rows):  # mirror the upper triangle
        for j, v in list(row.items()):
            if j > i:
                rows[j][i] = v
    return rows


def _lexrank(rows: list[dict[int, float]], damping: float = 0.85) -> list[float]:
    """PageRank over the similarity graph (continuous LexRank), scaled so the top is 1."""
    n = len(rows)
    # Each sentence passes its rank to its neighbours in proportion to their similarity.
    # Edges below _WEAK_EDGE (a shared common word) are dropped: they barely move the ranks
    # and make up most of the cost.
    edges: list[tuple[list[int], list[float]]] = []
    for row in rows:
        kept = [(j, v) for j, v in row.items() if v >= _WEAK_EDGE]
        total = sum(v for _, v in kept)
        edges.append(([j for j, _ in kept], [v / total for _, v in kept]))
    # On a symmetric graph the walk without jumps settles on rank ∝ weighted degree, so
    # starting there takes a few rounds instead of dozens.
    degree = [sum(row.values()) + 1e-9 for row in rows]
    total_degree = sum(degree)
    rank = [d / total_degree for d in degree]
    for _ in range(50):
        # A sentence with no neighbour spreads its rank evenly, as does the random jump.
        base = (1.0 - damping) / n + damping * sum(
            r for r, (cols, _) in zip(rank, edges, strict=True) if not cols
        ) / n
        new = [base] * n
        for r, (cols, weights) in zip(rank, edges, strict=True):
            r *= damping
            for j, w in zip(cols, weights, strict=True):
                new[j] += r * w
        delta = sum(abs(a - b) for a, b in zip(new, rank, strict=True))
        rank = new
        if delta < _LEXRANK_TOLERANCE:
            break
    top = max(rank)
    return [r / top for r in rank]


# --------------------------------------------------------------------------- summarize

_WEAK_EDGE = 0.03  # cosine below which two sentences are not linked in the LexRank graph
_LEXRANK_TOLERANCE = 1e-3  # L1 change of the ranks at which the power iteration stops
_MIN_TERMS = 3  # fewer content words: "Click here.", "Nobody knew." — no story on their own
# Only the first sentences compete: news states what matters early (in TIME World's long items
# 98% of the chosen sentences are among the first 30), and the graph costs the square of its
# size, which a 20,000-character feature would otherwise make 10 ms.
_MAX_CANDIDATES = 60
_LEAD_WEIGHT = 1.2
_CENTRALITY_WEIGHT = 1.0
_TITLE_WEIGHT = 0.8
_MMR_LAMBDA = 0.7  # relevance against novelty when adding the 2nd and 3rd sentence
_NEAR_DUPLICATE = 0.6  # cosine above which a sentence only repeats a chosen one


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)].rsplit(" ", 1)[0].rstrip(",;:-–—")
    return cut + "…"


def _cleaned_sentences(text: str) -> Iterator[tuple[str, bool]]:
    """The sentences of ``text`` without dateline and boilerplate, each with whether it may
    stand in a summary (not a heading). Lazy: a long text is split only as far as needed."""
    for index, paragraph in enumerate(_paragraphs(text)):
        if index == 0:
            paragraph = _strip_dateline(paragraph)
        pieces = _split_paragraph(paragraph)
        for sentence in pieces:
            if _is_boilerplate(sentence):
                continue
            # A one-line paragraph with no full stop is a heading or a caption.
            heading = len(pieces) == 1 and not _TERMINAL.search(sentence)
            yield sentence, not heading


_DANGLING = re.compile(r"(?:He|She|They|It|His|Her|Their|Its|This|These|Those|That)\b")
# A sentence that opens by referring back ("Some of those militias…", "The group, which…",
# "But they…"): what it refers to is in the sentence before, so it is not said alone.
# "This week", "That year" point at the calendar, not at the text.
_REFERRING = re.compile(
    r"""[\"'“‘(]*
    (?:(?:But|And|Yet|Still|So|Now|Then|However|Meanwhile|Instead|Also|Indeed|Moreover|Later
        |Earlier|Even\s+so|In\s+turn|At\s+the\s+time),?\s+)?
    (?:
      (?:He|She|They|It|His|Her|Their|Its|Him|Them|Such|These|Those)\b
    | (?:This|That)\b(?!\s+(?:week|month|year|morning|afternoon|evening|night|weekend|spring
        |summer|autumn|fall|winter|season|time|Monday|Tuesday|Wednesday|Thursday|Friday
        |Saturday|Sunday)\b)
    | The\s+(?:group|organi[sz]ation|move|decision|former|latter|same|two|pair|couple|attack
        |incident|deal|plan|report|measure|step|remarks?|statement|comments?)\b
    | (?:Some|Many|Most|All|Both|Each|One|Two|Three|Several|Few|None|Neither|Either|Half|Much
        |Part|Any|Others?|Members?|Most)\s+of\s+(?:them|those|these|this|that|it|their|its|his
        |her|the\s+group)\b
    )""",
    re.VERBOSE | re.IGNORECASE,
)


def _form(sentence: str, lead: bool) -> float:
    """How well a sentence stands alone, as a factor of its score."""
    factor = 1.0
    if not lead and _DANGLING.match(sentence):
        factor *= 0.85  # "He extended best wishes…": who "he" is was said before
    if sentence.rstrip("\"'”’)").endswith("?"):
        factor *= 0.6  # a rhetorical question states no fact
    opening, closing = sentence.count("“"), sentence.count("”")
    if opening != closing or sentence.count('"') % 2:
        factor *= 0.7  # one piece of a quotation that runs over several sentences
    elif sentence[:1] in '“"':
        factor *= 0.85  # a quote is colour; the reported facts are around it
    return factor


def _candidates(
    text: str, limit: int | None = _MAX_CANDIDATES
) -> tuple[list[str], list[list[str]], list[str], list[bool]]:
    """(the first ``limit`` candidate sentences in document order, their terms, the cleaned
    sentences up to the last candidate, or all if fewer, and for each candidate whether the
    sentence just before it in the text is the candidate before it).

    A sentence said twice (a pull quote, a repeated paragraph) is a candidate once.
    """
    cleaned: list[str] = []
    seen: set[str] = set()
    candidates: list[str] = []
    bags: list[list[str]] = []
    follows: list[bool] = []
    previous_was_candidate = False
    for sentence, whole in _cleaned_sentences(text):
        cleaned.append(sentence)
        if not whole:
            previous_was_candidate = False
            continue
        terms = _terms(sentence)
        key = " ".join(terms)
        if key not in seen and len(terms) >= _MIN_TERMS:
            candidates.append(sentence)
            bags.append(terms)
            follows.append(previous_was_candidate)
            previous_was_candidate = True
            if len(candidates) == limit:
                break
        else:
            previous_was_candidate = False
        seen.add(key)
    return candidates, bags, cleaned, follows


def summarize(title: str, text: str, *, max_sentences: int = 3, max_chars: int = 600) -> str:
    """An extractive summary of ``text``: 2–3 sentences for long texts, the text itself if short.

    The sentences are the text's own, in its order; the summary never exceeds ``max_chars``
    (a single sentence too long for it is cut at a word, with "…").
    """
    text = text.strip()
    if not text:
        return ""
    candidates, bags, cleaned, follows = _candidates(text)
    if len(text) <= SHORT_TEXT_CHARS or len(cleaned) <= 2 or len(candidates) < 2:
        # A feed description, or a text with too little to choose from: the text, cleaned.
        return _truncate(" ".join(cleaned or split_sentences(text)), max_chars)

    vectors, title_vector = _vectors(bags, _terms(title))
    rows = _similarities(vectors)
    centrality = _lexrank(rows)
    scores: list[float] = []
    for k, sentence in enumerate(candidates):
        lead = 1.0 / (1.0 + 0.5 * k)  # 1, .67, .5, .4 …: the first sentences carry the news
        on_title = sum(v * title_vector.get(w, 0.0) for w, v in vectors[k].items())
        score = _CENTRALITY_WEIGHT * centrality[k] + _LEAD_WEIGHT * lead + _TITLE_WEIGHT * on_title
        scores.append(score * _form(sentence, k == 0))

    # A sentence that refers back may only join the sentence before it (see _REFERRING).
    # -1: what it refers to is not a candidate (a heading, a fragment), so it is left out.
    needs: list[int | None] = [
        None if k == 0 or not _REFERRING.match(sentence) else k - 1 if follows[k] else -1
        for k, sentence in enumerate(candidates)
    ]
    wanted = min(3 if len(candidates) >= 12 else 2, max(max_sentences, 1))
    top = max(scores)
    chosen: list[int] = []
    length = -1  # the joining space before the first sentence does not count
    remaining = set(range(len(candidates)))
    while remaining and len(chosen) < wanted:
        best, best_value = -1, -math.inf
        for i in sorted(remaining):
            if needs[i] is not None and needs[i] not in chosen:
                continue
            redundancy = max((rows[i].get(j, 0.0) for j in chosen), default=0.0)
            if redundancy >= _NEAR_DUPLICATE:
                continue
            value = _MMR_LAMBDA * scores[i] / top - (1 - _MMR_LAMBDA) * redundancy
            if value > best_value:
                best, best_value = i, value
        if best < 0:
            break
        remaining.discard(best)
        extra = len(candidates[best]) + 1
        if chosen and length + extra > max_chars:
            continue  # does not fit beside what is chosen; a shorter one may
        chosen.append(best)
        length += extra
    summary = " ".join(candidates[i] for i in sorted(chosen))
    return _truncate(summary, max_chars)


def best_summary(candidates: Sequence[tuple[str, str]]) -> int:
    """The index of the report, among ``(title, text)`` reports of one story, to summarize it.

    Rule: the one with the most substantive text — the total length of the sentences that may
    stand in a summary (boilerplate, headings and fragments do not count) — so a full article
    wins over a teaser of it; on a tie, the earliest. Raises ``ValueError`` if there are none.
    """
    if not candidates:
        raise ValueError("best_summary() needs at least one report")
    sizes = [sum(map(len, _candidates(text, None)[0])) for _, text in candidates]
    return max(range(len(sizes)), key=lambda i: (sizes[i], -i))
