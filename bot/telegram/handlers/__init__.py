"""The Telegram handlers, one module per area; :mod:`bot.telegram.handlers.base` has what they
share."""
