"""Notifiers: where alerts go. Each adapter imports only :mod:`bot.notify.base` and models."""
