"""Linking: an account on some channel bound to a member by a one-time invite code.

A person types «liên kết CODE» on any channel; a channel may offer a shorter way (a deep
link whose payload the adapter turns into the same press). Wrong codes are counted per
account, and linking pauses after too many.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.errors import Inactive, NotLinked, Refusal
from bot.invites import hash_code
from bot.models import Member
from bot.ports import Clock, LinkingStore, Redeem
from bot.screens import Incoming, Screen
from bot.state import ReviewState
from bot.views import Views


@dataclass(frozen=True)
class LinkSettings:
    attempts: int = 5  # wrong codes allowed per account within ``window``
    window: timedelta = timedelta(hours=1)


class Linker:
    def __init__(self, store: LinkingStore, clock: Clock, views: Views, settings: LinkSettings,
                 load: Callable[[Member], Awaitable[ReviewState]]) -> None:
        self.store = store
        self.clock = clock
        self.views = views
        self.settings = settings
        self.load = load

    async def member(self, incoming: Incoming) -> Member:
        """The member behind the account that wrote; ``NotLinked``/``Inactive`` otherwise."""
        member = await self.store.member_by_account(incoming.channel, incoming.external_id)
        if member is None:
            raise NotLinked()
        if not member.active:
            raise Inactive()
        return member

    async def link(self, incoming: Incoming, code: str) -> list[Screen]:
        store, now = self.store, self.clock.now()
        channel, external_id = incoming.channel, incoming.external_id
        if await store.account(channel, external_id) is not None:
            state = await self.load(await self.member(incoming))
            return [Screen("link/already", {"name": state.member.full_name}),
                    *self.views.welcome(state), *self.views.show(state)]
        since = now - self.settings.window
        if await store.failed_link_attempts(channel, external_id, since) >= self.settings.attempts:
            return [Screen("link/too_many",
                           {"minutes": self.settings.window // timedelta(minutes=1)})]
        status, _ = await store.redeem_invite(hash_code(code), channel, external_id, now)
        if status != Redeem.OK:
            await store.record_failed_link(channel, external_id, now)
            return [Screen(f"link/{status.value}")]
        try:
            state = await self.load(await self.member(incoming))
        except Refusal as refusal:  # linked, but nothing to write now (no round, not reviewed)
            return [Screen("link/ok", {"name": ""}), refusal.screen()]
        return [Screen("link/ok", {"name": state.member.full_name}),
                *self.views.welcome(state), *self.views.show(state)]
