"""The use cases, one service each, put together by :class:`bot.pipeline.Pipeline`.

- :mod:`~bot.services.topics`: the configured topics and the chats' watches; dry-run queries.
- :mod:`~bot.services.ingest`: entries to stored items: normalize, dedup, stories, match,
  summarize, store (with the deliveries routing decides).
- :mod:`~bot.services.refresh`: polling feeds and the documents folder; feed health.
- :mod:`~bot.services.feeds`: which feeds are polled: the config's, those added in chats, OPML.
- :mod:`~bot.services.dispatch`: the outbox to the chats: pacing, retries, story edits.
- :mod:`~bot.services.digests`: each chat's digest, when it is due.
- :mod:`~bot.services.reports`: notices to the operators, replies and announcements.

Services depend on the pure stages and on the adapters' interfaces (``Store``, ``Notifier``,
``FeedSource``), never on an adapter, and never on the layers above (scheduler, commands, CLI).
"""
