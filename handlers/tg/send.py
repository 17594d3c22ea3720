"""Putting the core's screens on Telegram: HTML text, inline buttons, documents.

A reply is tried again after a 5xx, a timeout or a dropped connection (``patiently``); a
429 is waited out by the rate limiter, for that chat only (``handlers.tg.limits``). If a
reply still cannot be delivered, ``deliver`` says so and sends nothing more to that chat, so
the member's screen never runs ahead of what the core believes they saw.

Buttons carry the core's ``Press`` in Telegram's callback data (``encode_press``): ASCII,
at most 64 bytes. Messages for anyone but the person who wrote go through the outbox and
``handlers.tg.transport``, never through here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError

from bot.screens import Action, Button, DeskAction, Press, Screen
from handlers.render import Renderer

log = logging.getLogger(__name__)
CHANNEL = "telegram"
T = TypeVar("T")

# Seconds to wait before each new try of a reply that failed with a 5xx, a timeout or a
# dropped connection (``telegram.reply_retry_ms``). After the last, the reply counts as lost.
RETRY_DELAYS = (0.5, 1.0, 2.0)

# A tag, an entity, or one character: the units rendered HTML may be cut between.
_TOKEN = re.compile(r"<[^<>]*>|&(?:[a-zA-Z]+|#[0-9]+|#x[0-9a-fA-F]+);|.", re.DOTALL)
_TAG_NAME = re.compile(r"</?([a-zA-Z][a-zA-Z0-9-]*)")


async def patiently(call: Callable[[], Awaitable[T]],
                    delays: Sequence[float] = RETRY_DELAYS) -> T:
    """``call()``, tried again after each of ``delays`` when Telegram did not take it (5xx,
    timeout, connection). A refusal (400, 403) is final and raised at once."""
    for delay in (*delays, None):
        try:
            return await call()
        except BadRequest:  # a subclass of NetworkError, but no retry makes it valid
            raise
        except NetworkError as exc:
            if delay is None:
                raise
            log.info("Bot API call failed (%s); trying again in %.1f s", type(exc).__name__,
                     delay)
            await asyncio.sleep(delay)
    raise RuntimeError("unreachable")  # the loop returns or raises


def _units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def html_chunks(text: str, limit: int) -> list[str]:
    """Split rendered HTML into messages of at most ``limit`` units, each valid on its own.

    Cuts only between tags, entities and characters (never inside ``&amp;`` or ``<b>``),
    preferring a line break, then a space; tags open at a cut are closed at the end of the
    piece and opened again at the start of the next.
    """
    if _units(text) <= limit:
        return [text]
    tokens = _TOKEN.findall(text)
    pieces: list[str] = []
    opened: list[str] = []  # tags open at the start of the piece being built
    start = 0
    while start < len(tokens):
        stack = list(opened)
        size = sum(_units(t) for t in opened)
        end, cut_line, cut_space = start, None, None
        while end < len(tokens):
            token = tokens[end]
            after = _push(stack, token)
            closing = sum(len(_name(t)) + 3 for t in after)  # "</b>"
            if end > start and size + _units(token) + closing > limit:
                break
            size += _units(token)
            stack = after
            end += 1
            if token == "\n":
                cut_line = (end, list(stack))
            elif token == " ":
                cut_space = (end, list(stack))
        if end < len(tokens):
            end, stack = cut_line or cut_space or (end, stack)
        body = "".join(tokens[start:end]).rstrip(" \n")
        closing_tags = "".join(f"</{_name(t)}>" for t in reversed(stack))
        if _visible(body):
            pieces.append("".join(opened) + body + closing_tags)
        opened = stack
        start = end
        while start < len(tokens) and tokens[start] in (" ", "\n"):
            start += 1
    return pieces or [text]


def _name(tag: str) -> str:
    match = _TAG_NAME.match(tag)
    return match.group(1).lower() if match else ""


def _push(stack: list[str], token: str) -> list[str]:
    """The open tags after ``token``."""
    if not token.startswith("<") or len(token) == 1:
        return stack
    if token.startswith("</"):
        name = _name(token)
        for index in range(len(stack) - 1, -1, -1):
            if _name(stack[index]) == name:
                return stack[:index] + stack[index + 1:]
        return stack
    return [*stack, token]


def _visible(html: str) -> bool:
    return bool(re.sub(r"<[^<>]*>", "", html).strip())


CALLBACK_LIMIT = 64  # bytes of callback_data Telegram accepts
# Actions a button can carry (the others come from typed words or from the core itself).
BUTTON_ACTIONS = frozenset({
    Action.ANSWER, Action.BACK, Action.SKIP, Action.PAUSE, Action.RESUME, Action.OFFICIAL,
    Action.DONE, Action.KEEP, Action.CLEAR, Action.SUMMARY, Action.SUBMIT, Action.HELP,
    Action.DESK,
})
_DESK_ACTIONS = {a.value: a for a in DeskAction}


def encode_press(button: Button) -> str:
    """A button's press as callback data: ``action|review|qid|arg``, or for the desk
    ``s|target|desk action|arg`` (ASCII, at most 64 bytes)."""
    press = button.press
    if press.action == Action.DESK and press.desk is not None:
        data = f"{press.action.value}|{press.target}|{press.desk.value}|{press.arg}"
    else:
        data = f"{press.action.value}|{press.review_id}|{press.qid}|{press.arg}"
    if len(data.encode()) > CALLBACK_LIMIT:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def decode_press(data: str) -> Press | None:
    """Unpack callback data; None when it is not something this bot could have sent."""
    parts = data.split("|")
    # ASCII digits only ("²".isdigit() is True), and an id SQLite can hold.
    if (len(parts) != 4 or parts[0] not in {a.value for a in BUTTON_ACTIONS}
            or not parts[1].isascii() or not parts[1].isdigit() or len(parts[1]) > 18):
        return None
    action, number, qid, arg = Action(parts[0]), int(parts[1]), parts[2], parts[3]
    if action == Action.DESK:
        desk = _DESK_ACTIONS.get(qid)
        return Press(action, arg=arg, desk=desk, target=number) if desk is not None else None
    return Press(action, number, qid, arg)


def keyboard(renderer: Renderer, screen: Screen) -> InlineKeyboardMarkup | None:
    if not screen.buttons:
        return None
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(renderer.label(b), callback_data=encode_press(b)) for b in row]
        for row in screen.buttons
    ])


def keyboard_json(renderer: Renderer, screen: Screen) -> dict[str, Any] | None:
    """The same keyboard as ``keyboard``, as the Bot API's JSON."""
    if not screen.buttons:
        return None
    return {"inline_keyboard": [
        [{"text": renderer.label(b), "callback_data": encode_press(b)} for b in row]
        for row in screen.buttons
    ]}


# ``call`` uses ``do_api_request`` for methods PTB also has typed versions of (see there);
# PTB would say "use Bot.send_message" at every call.
warnings.filterwarnings(
    "ignore", message=r"Please use 'Bot\.(sendMessage|editMessageText|editMessageReplyMarkup)'")


async def call(bot: Bot, method: str, params: dict[str, Any]) -> None:
    """A Bot API call whose answer is not read. PTB's typed methods turn the message Telegram
    sends back into objects, which took a quarter of the bot's time per update on replies
    nobody reads (``bench/bench_levers.py``); errors are raised the same way."""
    await bot.do_api_request(method, api_kwargs={k: v for k, v in params.items()
                                                 if v is not None})


async def remove_buttons(bot: Bot, message: Message) -> None:
    """Take the inline keyboard off a message the bot sent."""
    await call(bot, "editMessageReplyMarkup",
               {"chat_id": message.chat_id, "message_id": message.message_id})


async def send_screen(bot: Bot, chat_id: int, renderer: Renderer, screen: Screen,
                      delays: Sequence[float] = RETRY_DELAYS,
                      on_part: Callable[[], None] | None = None) -> None:
    """Every part of ``screen`` to ``chat_id``; raises if a part finally failed.
    ``on_part`` is told each part Telegram took."""
    text = renderer.html(screen, CHANNEL)
    if screen.document is not None:
        markup = keyboard(renderer, screen)
        document = screen.document
        caption, *rest = html_chunks(text, MessageLimit.CAPTION_LENGTH) if text else [""]
        send = bot.send_photo if document.picture else bot.send_document
        await patiently(lambda: send(
            chat_id, InputFile(document.content, filename=document.filename),
            caption=caption or None, parse_mode=ParseMode.HTML,
            reply_markup=None if rest else markup), delays)
        if on_part is not None:
            on_part()
        pieces = html_chunks("\n".join(rest), MessageLimit.MAX_TEXT_LENGTH) if rest else []
    else:
        pieces = html_chunks(text, MessageLimit.MAX_TEXT_LENGTH)
    buttons = keyboard_json(renderer, screen)
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        await patiently(functools.partial(call, bot, "sendMessage", {
            "chat_id": chat_id, "text": piece, "parse_mode": ParseMode.HTML.value,
            "reply_markup": buttons if last else None}), delays)
        if on_part is not None:
            on_part()


async def deliver(
    bot: Bot,
    chat_id: int,
    renderer: Renderer,
    screens: list[Screen],
    pressed: Message | None = None,
    on_receipt: Callable[[str], Awaitable[None]] | None = None,
    delays: Sequence[float] = RETRY_DELAYS,
) -> bool:
    """Send the reply's screens to ``chat_id``, in order.

    Returns False when one could not be delivered (the rest are then not sent, so the
    member's screen never runs ahead of what the core believes they saw). ``on_receipt`` is
    told each delivered screen's ``receipt``.
    """
    for screen in screens:
        try:
            await _reply(bot, chat_id, renderer, screen, pressed, delays)
        except TelegramError as exc:
            log.warning("reply not delivered (%s); the member will be shown where they stand",
                        type(exc).__name__)
            return False
        if screen.receipt is not None and on_receipt is not None:
            await on_receipt(screen.receipt)
    return True


async def _reply(bot: Bot, chat_id: int, renderer: Renderer, screen: Screen,
                 pressed: Message | None, delays: Sequence[float]) -> None:
    if screen.ack and pressed is not None:
        try:
            await patiently(functools.partial(call, bot, "editMessageText", {
                "chat_id": pressed.chat_id, "message_id": pressed.message_id,
                "text": renderer.html(screen, CHANNEL), "parse_mode": ParseMode.HTML.value}),
                delays)
            return
        except BadRequest as exc:  # too old, deleted, or the same text: say it anew
            log.info("could not edit the pressed message: %s", exc.message)
    await send_screen(bot, chat_id, renderer, screen, delays)
