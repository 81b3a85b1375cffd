"""Sources: where items come from. Each adapter imports only :mod:`bot.sources.base` and models."""
