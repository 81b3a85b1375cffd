"""The Telegram front end over the core, as python-telegram-bot's ``ext`` sits over its own:
the handlers grouped by area (:mod:`bot.telegram.handlers`), the one command table
(:mod:`bot.telegram.commands`) and the application wiring (:mod:`bot.telegram.app`). The
notifier that sends through Telegram is an adapter, :mod:`bot.notify.telegram`."""
