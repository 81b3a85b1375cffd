"""The fast feed readers that :mod:`bot.sources.parse` tries before feedparser.

Laid out as feedparser lays out its own handlers (a mixin per namespace or area, one parser
class composed of them), so that each handler can be read beside feedparser's:

- :mod:`.reader`: :class:`~.reader.FastReader`, the lxml element walk that replays feedparser's
  ``unknown_starttag``/``unknown_endtag`` and dispatches to the handlers;
- :mod:`.state`: the context stack (``_push``/``_pop``/``_save``/``_context``) every handler uses;
- :mod:`.core`, :mod:`.authors`, :mod:`.dates`, :mod:`.links`, :mod:`.content`: the RSS/Atom
  element handlers, by area; :mod:`.extensions`: what Dublin Core, iTunes, Media RSS, GeoRSS,
  Podlove, Creative Commons and the admin namespace map onto;
- :mod:`.tags`: which handler an element name gets, worked out once per document and tag;
- :mod:`.document`: what the bytes must be for the reader (encoding, namespace declarations);
- :mod:`.text`: the text, URL and date rules shared by the handlers;
- :mod:`.rules`: the feedparser internals reused, so the fast path cannot drift from it;
- :mod:`.entries`: :class:`~.entries.ParsedFeed` and the capped RawEntry every reader returns;
- :mod:`.jsonfeed`: JSON Feed 1.0/1.1, read with :mod:`json`.
"""
