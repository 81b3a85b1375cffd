"""The namespaced elements feedparser knows (its dc, dcterms, itunes, mediarss, georss, psc, cc,
admin and feedburner mixins), mapped onto the area handlers as feedparser maps them.

Most are aliases (``dc:creator`` is an author, ``media:title`` a title) or frames whose value
the bot does not read (``media:rating``, ``georss:point``); the few with handlers of their own
are here.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.sources.fastread.authors import AuthorHandlers
from bot.sources.fastread.content import ContentHandlers
from bot.sources.fastread.dates import DateHandlers

__all__ = ["CONTENT_LIKE", "ENDS", "FRAMES", "NO_POP", "NO_PUSH", "STARTS", "NamespaceHandlers"]


class NamespaceHandlers(AuthorHandlers, DateHandlers, ContentHandlers):
    """The handlers of namespaced elements that differ from the area handlers they alias."""

    def _start_itunes_link(self, attrs: dict[str, str]) -> None:
        # feedparser's itunes:link pushes an itunes_image frame its generic end never pops.
        self._push("itunes_image", 0)

    def _end_media_title(self) -> None:
        title_depth = self.title_depth
        self._end_title()
        self.title_depth = title_depth


_N = NamespaceHandlers
STARTS: dict[str, Callable[[NamespaceHandlers, dict[str, str]], None]] = {
    # Dublin Core
    "dc_author": _N._start_author,
    "dc_creator": _N._start_author,
    "dc_contributor": _N._start_dc_contributor,
    "dc_title": _N._start_title,
    "dc_description": _N._start_description,
    # iTunes
    "itunes_author": _N._start_author,
    "itunes_owner": _N._start_itunes_owner,
    "itunes_summary": _N._start_summary,
    "itunes_link": _N._start_itunes_link,
    # Media RSS
    "media_title": _N._start_title,
    "media_description": _N._start_description,
    # XHTML and RSS 1.0's content module
    "xhtml_body": _N._start_body,
    "content_encoded": _N._start_content_encoded,
}
ENDS: dict[str, Callable[[NamespaceHandlers], None]] = {
    # Dublin Core and DC terms
    "dc_author": _N._end_author,
    "dc_creator": _N._end_author,
    "dc_contributor": _N._end_dc_contributor,
    "dc_date": _N._end_updated,
    "dcterms_issued": _N._end_published,
    "dcterms_modified": _N._end_updated,
    "dcterms_created": _N._end_created,
    "dc_title": _N._end_title,
    "dc_description": _N._end_description,
    # iTunes
    "itunes_author": _N._end_author,
    "itunes_owner": _N._end_itunes_owner,
    "itunes_name": _N._end_name,
    "itunes_email": _N._end_email,
    "itunes_summary": _N._end_summary,
    # Media RSS
    "media_title": _N._end_media_title,
    "media_description": _N._end_description,
    # XHTML and RSS 1.0's content module
    "xhtml_body": _N._end_content,
    "content_encoded": _N._end_content,
}
# Handlers that only push a text frame at the start and pop it at the end (their values land in
# keys the bot does not read, or the ends above read them): (frame, expecting).
FRAMES: dict[str, tuple[str, int]] = {
    # Dublin Core and DC terms
    "dc_date": ("updated", 1),
    "dcterms_issued": ("published", 1),
    "dcterms_modified": ("updated", 1),
    "dcterms_created": ("created", 1),
    "dc_language": ("language", 1),
    "dc_subject": ("category", 1),
    "dc_publisher": ("publisher", 1),
    "dcterms_valid": ("validity", 1),
    # iTunes
    "itunes_name": ("name", 0),
    "itunes_email": ("email", 0),
    "itunes_category": ("category", 1),
    "itunes_image": ("itunes_image", 0),
    # Media RSS
    "media_category": ("category", 1),
    "media_rating": ("rating", 1),
    "media_credit": ("credit", 1),
    "media_restriction": ("restriction", 1),
    "media_license": ("license", 1),
    "media_player": ("media_player", 0),
    "media_thumbnail": ("url", 1),
    # Creative Commons (the RSS 1.0 module)
    "creativecommons_license": ("license", 1),
    # GeoRSS and GML
    "georss_point": ("geometry", 0),
    "georss_line": ("geometry", 0),
    "georss_polygon": ("geometry", 0),
    "georss_box": ("geometry", 0),
    "where": ("where", 0),
    "georss_where": ("where", 0),
    "gml_point": ("geometry", 0),
    "gml_linestring": ("geometry", 0),
    "gml_polygon": ("geometry", 0),
    "gml_exterior": ("geometry", 0),
    "gml_linearring": ("geometry", 0),
    "gml_pos": ("pos", 0),
    "gml_poslist": ("pos", 0),
}
# Text constructs whose value the bot does not read: a content frame (frame, default type).
CONTENT_LIKE: dict[str, tuple[str, str]] = {
    "itunes_subtitle": ("subtitle", "text/plain"),
    "dc_rights": ("rights", "text/plain"),
    "feedburner_browserfriendly": ("info", "text/plain"),
}
# Start handlers that push nothing (feedparser's generic start would push a frame without attrs).
NO_PUSH = frozenset(
    {"media_content", "media_group", "psc_chapters", "psc_chapter"}
    | {"cc_license", "admin_generatoragent", "admin_errorreportsto"}
)
# End handlers that pop nothing.
NO_POP = frozenset({"psc_chapters"})
