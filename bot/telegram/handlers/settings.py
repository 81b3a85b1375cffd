"""A chat's settings: /settings and its buttons, /timezone, /digesttime, /mode, /previews,
/quiet, /urgent, /mute and /unmute."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot import actions
from bot.feedback import kind_label
from bot.models import MODES
from bot.pacing import parse_clock
from bot.render import esc
from bot.routing import story_mute
from bot.services.settings import MAX_MUTE_HOURS
from bot.telegram.handlers.base import Handlers

__all__ = ["DEFAULT_QUIET", "SettingsHandlers"]

DEFAULT_QUIET = ("22:00", "07:00")


class SettingsHandlers(Handlers):
    """How a chat receives its alerts and digest."""

    def _settings_view(self, chat_id: int) -> tuple[str, InlineKeyboardMarkup]:
        chat = self.chats.chat(chat_id)
        tz = (chat.timezone if chat else None) or f"{self.pipeline.timezone.key} (default)"
        at = (chat.digest_time if chat else None) or f"{self.default_digest} (default)"
        previews = "on" if chat and chat.previews else "off"
        quiet = f"{chat.quiet_start}–{chat.quiet_end}" if chat and chat.quiet_start else "off"
        modes = self.chats.modes(chat_id)
        urgent = self.chats.urgent_topics(chat_id)
        lines = [
            "<b>Settings</b>",
            f"Timezone: {esc(tz)} — /timezone <code>Europe/Berlin</code>",
            f"Digest time: {esc(at)} — /digesttime <code>08:00</code>",
            f"Link previews: {previews} — /previews on|off",
            f"Quiet hours: {quiet} — /quiet <code>22:00-07:00</code> or off",
            "Topics: tap the name to switch between alert, digest and both; ⚡ urgent alerts "
            "come first and even in quiet hours.",
        ]
        rows = [
            [
                InlineKeyboardButton(
                    f"Previews: {previews}", callback_data=actions.setting("previews")
                ),
                InlineKeyboardButton(f"🌙 Quiet: {quiet}", callback_data=actions.setting("quiet")),
            ]
        ]
        muted = self.chats.mutes(chat_id)
        for key, until in muted.items():
            topic = self.topics.get(key)
            name = "a story" if key.startswith("story:") else (topic.name if topic else key)
            lines.append(f"🔕 {esc(name)} muted until {self._local(chat_id, until)}")
            if actions.fits(actions.setting("unmute", key)):
                rows.append(
                    [
                        InlineKeyboardButton(
                            f"🔊 Unmute {name}", callback_data=actions.setting("unmute", key)
                        )
                    ]
                )
        for stopped in self.pipeline.feedback.stopped(chat_id):
            name = self._topic_name(stopped.topic_id)
            lines.append(f"🚫 {esc(name)}: alerts that match on {esc(kind_label(stopped.kind))}")
            rows.append(
                [
                    InlineKeyboardButton(
                        f"✅ Allow again: {name}, {kind_label(stopped.kind)}"[:60],
                        callback_data=actions.setting("allow", stopped.key),
                    )
                ]
            )
        for topic_id, tuning in self.pipeline.feedback.tunings(chat_id).items():
            if tuning.threshold is not None:
                lines.append(
                    f"🎚 {esc(self._topic_name(topic_id))}: learned alerts from a score of "
                    f"{tuning.threshold:.2f} (your 👍/👎 set it)"
                )
        for topic_id, mode in sorted(modes.items()):
            topic = self.topics.get(topic_id)
            name = topic.name if topic else topic_id
            data = actions.setting("mode", topic_id)
            if actions.fits(data):
                flag = "⚡ urgent" if topic_id in urgent else "normal"
                rows.append(
                    [
                        InlineKeyboardButton(f"{name}: {mode}", callback_data=data),
                        InlineKeyboardButton(flag, callback_data=actions.setting("urg", topic_id)),
                    ]
                )
        return "\n".join(lines), InlineKeyboardMarkup(rows)

    async def settings(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/settings: this chat's settings, with buttons."""
        chat_id = self._register_chat(update)
        if chat_id is None:
            return
        text, keyboard = self._settings_view(chat_id)
        await self._reply(update, text, reply_markup=keyboard)

    async def settings_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A /settings button: toggle previews, or cycle a topic's mode."""
        pressed = await self._pressed(update, context, changes=True)
        if pressed is None:
            return
        query, chat_id, action = pressed
        chat = self.chats.chat(chat_id)
        what, arg = action.args[0], ":".join(action.args[1:])
        if what == "previews":
            self.chats.update(chat_id, previews=not (chat and chat.previews))
        elif what == "quiet":
            if chat and chat.quiet_start:
                self.chats.set_quiet(chat_id, None)
            else:
                self.chats.set_quiet(chat_id, DEFAULT_QUIET)
        elif what == "unmute":
            self.chats.unmute(chat_id, arg)
        elif what == "allow":
            if self.pipeline.feedback.allow(chat_id, arg) is None:
                await query.answer("That kind of alert is not stopped any more.")
                return
        elif what in ("urg", "mode"):
            changed = (
                self.chats.set_urgent(chat_id, arg)
                if what == "urg"
                else self.chats.next_mode(chat_id, arg)
            )
            if changed is None:
                await query.answer("Not subscribed to that topic any more.")
                return
        else:
            await query.answer("That button is from an older version; send /settings again.")
            return
        await query.answer("Saved")
        _, keyboard = self._settings_view(chat_id)
        await query.edit_message_reply_markup(reply_markup=keyboard)

    async def set_timezone(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/timezone NAME: times in alerts and the digest time, in this chat's zone."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        name = (context.args or [""])[0]
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            await self._reply(
                update, "❓ Send an IANA timezone, e.g. /timezone <code>Europe/Berlin</code>"
            )
            return
        self.chats.update(chat_id, timezone=name)
        await self._reply(update, f"🕒 Timezone set to <b>{esc(name)}</b>.")

    async def digest_time(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/digesttime HH:MM in the chat's timezone, or "default"."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        raw = (context.args or [""])[0]
        if raw == "default":
            self.chats.update(chat_id, digest_time=None)
            await self._reply(update, f"Digest back at the default time, {self.default_digest}.")
            return
        clock = parse_clock(raw)
        if clock is None:
            await self._reply(update, "❓ Send a time, e.g. /digesttime <code>07:30</code>")
            return
        value = clock.strftime("%H:%M")
        self.chats.update(chat_id, digest_time=value)
        await self._reply(update, f"📰 Your digest comes at <b>{value}</b> every day.")

    async def mode(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/mode TOPIC instant|digest|both."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        args = context.args or []
        topic = self._find_topic(args[0]) if args else None
        if topic is None or len(args) < 2 or args[1] not in MODES:
            await self._reply(
                update, "Send /mode <code>topic</code> <code>instant|digest|both</code>"
            )
            return
        if not self.chats.set_mode(chat_id, topic.id, args[1]):
            await self._reply(update, f"Subscribe to <b>{esc(topic.name)}</b> first.")
            return
        await self._reply(update, f"<b>{esc(topic.name)}</b>: {args[1]}.")

    async def previews(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/previews on|off: link previews under alerts."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        choice = (context.args or [""])[0].lower()
        if choice not in ("on", "off"):
            await self._reply(update, "Send /previews <code>on</code> or <code>off</code>")
            return
        self.chats.update(chat_id, previews=choice == "on")
        await self._reply(update, f"Link previews {choice}.")

    async def quiet(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/quiet HH:MM-HH:MM | off: alerts are held in these hours (the chat's time), except
        urgent topics; held alerts arrive when the hours end."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        raw = "".join(context.args or []).replace("–", "-")
        if raw.lower() == "off":
            self.chats.set_quiet(chat_id, None)
            await self._reply(update, "☀️ Quiet hours off: held alerts are on their way.")
            return
        start, _, end = raw.partition("-")
        begins, ends = parse_clock(start), parse_clock(end)
        if begins is None or ends is None or begins == ends:
            await self._reply(
                update,
                "❓ Send the hours in your timezone, e.g. /quiet <code>22:00-07:00</code>, "
                "or /quiet off",
            )
            return
        hours = (begins.strftime("%H:%M"), ends.strftime("%H:%M"))
        self.chats.set_quiet(chat_id, hours)
        await self._reply(
            update,
            f"🌙 Quiet hours {hours[0]}–{hours[1]}: alerts wait until they end, except "
            "topics marked /urgent.",
        )

    async def urgent(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/urgent TOPIC [on|off]: its alerts skip the queue and quiet hours."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        args = context.args or []
        topic = self._find_topic(args[0]) if args else None
        choice = args[1].lower() if len(args) > 1 else None
        if topic is None or choice not in (None, "on", "off"):
            marked = ", ".join(sorted(self.chats.urgent_topics(chat_id))) or "none"
            await self._reply(
                update,
                f"Urgent topics: {esc(marked)}.\nSend /urgent <code>topic</code> [on|off]",
            )
            return
        urgent = self.chats.set_urgent(
            chat_id, topic.id, None if choice is None else choice == "on"
        )
        if urgent is None:
            await self._reply(update, f"Subscribe to <b>{esc(topic.name)}</b> first.")
            return
        state = "⚡ urgent: first in line, even in quiet hours" if urgent else "normal"
        await self._reply(update, f"<b>{esc(topic.name)}</b>: {state}.")

    async def mute_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/mute TOPIC [HOURS]: no alerts of the topic for that long (24 h by default); as a
        reply to an alert, /mute [HOURS] mutes that alert's story."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        args = context.args or []
        message = update.effective_message
        replied = message.reply_to_message if message else None
        if replied is not None and (not args or args[0].isdigit()):
            await self._mute_story(update, chat_id, replied.message_id, args[0] if args else "24")
            return
        topic = self._find_topic(args[0]) if args else None
        hours = args[1] if len(args) > 1 else "24"
        if topic is None or not hours.isdigit() or not 1 <= int(hours) <= MAX_MUTE_HOURS:
            await self._reply(update, "Send /mute <code>topic</code> <code>hours</code> (1–720)")
            return
        until = self.chats.mute(chat_id, topic.id, int(hours))
        await self._reply(
            update, f"🔕 <b>{esc(topic.name)}</b> muted until {self._local(chat_id, until)}."
        )

    async def _mute_story(self, update: Update, chat_id: int, message_id: int, hours: str) -> None:
        alert = self.chats.alert(chat_id, message_id)
        if alert is None or not alert.item.story:
            await self._reply(update, "Reply to one of my alerts to mute its story.")
            return
        if not 1 <= int(hours) <= MAX_MUTE_HOURS:
            await self._reply(update, "Mute a story for 1 to 720 hours.")
            return
        until = self.chats.mute(chat_id, story_mute(alert.item.story), int(hours))
        await self._reply(
            update,
            f"🔕 The story “{esc(alert.item.title[:120])}” is muted until "
            f"{self._local(chat_id, until)}.",
        )

    async def unmute(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/unmute TOPIC."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        args = context.args or []
        topic = self._find_topic(args[0]) if args else None
        if topic is None:
            await self._reply(update, "Send /unmute <code>topic</code>")
            return
        self.chats.unmute(chat_id, topic.id)
        await self._reply(update, f"🔊 <b>{esc(topic.name)}</b> unmuted.")
