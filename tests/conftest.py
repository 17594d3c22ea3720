"""Shared fixtures: a real core on a temporary SQLite file, a clock the test controls."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import DatabaseSettings, Settings, TelegramSettings
from bot.delivery import Delivery, Outcome
from bot.invites import hash_code, new_code
from bot.models import Role
from bot.screens import Button, Document, Incoming, Screen
from handlers.wiring import Core, build_core

REPO = Path(__file__).resolve().parents[1]
# 09:00 in Hà Nội on Monday 23/11/2026.
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
MEETING = date(2026, 12, 18)


class FixedClock:
    """A clock that moves only when the test says so."""

    def __init__(self, start: datetime = START) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@dataclass
class Seed:
    cell_id: int
    member_id: int
    leader_id: int
    secretary_id: int
    round_id: int
    codes: dict[int, str]


def make_settings(tmp_path: Path, **telegram: object) -> Settings:
    return dataclasses.replace(
        Settings(),
        database=DatabaseSettings(path=str(tmp_path / "tusoi.sqlite3")),
        telegram=dataclasses.replace(TelegramSettings(), token="123456:TEST-TOKEN", **telegram),
    )


async def seed(core: Core, *, round_open: bool = True, form: str | None = None) -> Seed:
    """A cell with an ordinary member, a leader and a secretary, each with an invite."""
    store, now = core.store, core.clock.now()
    async with store.transaction():
        cell_id = await store.add_cell("Phòng Thử nghiệm", "Khối Thử nghiệm", "Hà Nội", now)
        member_id = await store.add_member(cell_id, "Trần Thị Bình", now, birth_date="02/03/1970",
                                           party_post="Đảng viên", work_unit="Phòng Thử nghiệm")
        leader_id = await store.add_member(cell_id, "Lê Văn Cường", now, is_leader=True,
                                           gov_post="Trưởng phòng")
        secretary_id = await store.add_member(cell_id, "Phạm Thu Dung", now,
                                              role=Role.SECRETARY, party_post="Bí thư chi bộ")
        codes = {}
        for mid in (member_id, leader_id, secretary_id):
            codes[mid] = new_code()
            await store.add_invite(mid, hash_code(codes[mid]), now, now + timedelta(days=7))
        round_id = 0
        if round_open:
            round_id = await store.add_round(cell_id, 2026, "Kiểm điểm năm 2026", MEETING,
                                             date(2026, 12, 10), now, form)
    return Seed(cell_id, member_id, leader_id, secretary_id, round_id, codes)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


class Recorder:
    """A channel's transport for the core tests: what the outbox delivered, per account.
    ``outcomes`` lets a test make the next sends to an account fail in a given way."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.sent: defaultdict[str, list[Screen]] = defaultdict(list)
        self.outcomes: defaultdict[str, list[Outcome]] = defaultdict(list)

    async def send(self, external_id: str, screen: Screen) -> Delivery:
        planned = self.outcomes[external_id]
        outcome = planned.pop(0) if planned else Outcome.SENT
        if outcome in (Outcome.SENT, Outcome.UNCERTAIN):
            self.sent[external_id].append(screen)
        return Delivery(outcome, detail="injected" if outcome is not Outcome.SENT else "")


CHANNELS = ("test", "telegram", "zalo")


def record(core: Core) -> dict[str, Recorder]:
    """Recording transports for the channels the core tests use."""
    recorders = {channel: Recorder(channel) for channel in CHANNELS}
    for recorder in recorders.values():
        core.delivery.sender.add(recorder)
    return recorders


@pytest.fixture
async def core(settings: Settings, clock: FixedClock) -> AsyncIterator[Core]:
    core = build_core(settings, clock)
    core.recorders = record(core)  # type: ignore[attr-defined]
    await core.open()
    try:
        yield core
    finally:
        await core.close()


def delivered(core: Core, external_id: str, channel: str = "test") -> list[Screen]:
    """What the outbox has delivered to one account so far."""
    recorders: dict[str, Recorder] = core.recorders  # type: ignore[attr-defined]
    return recorders[channel].sent[external_id]


class Chat:
    """One person talking to the core directly, as any channel would report them."""

    def __init__(self, core: Core, external_id: str, channel: str = "test") -> None:
        self.core, self.external_id, self.channel = core, external_id, channel
        self.last: list[Screen] = []
        self._n = 0

    def _key(self) -> str:
        self._n += 1
        return f"{self.channel}:{self.external_id}:{self._n}"

    async def _handle(self, incoming: Incoming) -> list[Screen]:
        self.last = await self.core.service.handle(incoming)
        await self.core.delivery.sender.run()  # what it queued for others, as the loop would
        return self.last

    async def say(self, text: str) -> list[Screen]:
        return await self._handle(
            Incoming(self.channel, self.external_id, event_key=self._key(), text=text))

    async def upload(self, filename: str, content: bytes) -> list[Screen]:
        """The person sends a file (a roster, for a secretary)."""
        return await self._handle(
            Incoming(self.channel, self.external_id, event_key=self._key(),
                     document=Document(filename, content)))

    async def press(self, button: Button) -> list[Screen]:
        return await self._handle(
            Incoming(self.channel, self.external_id, event_key=self._key(), press=button.press,
                     from_button=True))

    @property
    def notices(self) -> list[Screen]:
        """What the outbox delivered to this person (from others' actions, reminders)."""
        return delivered(self.core, self.external_id, self.channel)

    def screen(self, template: str | None = None) -> Screen:
        """The last screen shown (or the last one with this template)."""
        found = [s for s in self.last if template is None or s.template == template]
        assert found, f"no {template} screen in {[s.template for s in self.last]}"
        return found[-1]

    def button(self, label: str | None = None, *, action: str | None = None,
               text: str | None = None) -> Button:
        for screen in reversed(self.last):
            for row in screen.buttons:
                for b in row:
                    if ((label is None or b.label == label) and (action is None or b.action == action)
                            and (text is None or b.text == text)):
                        return b
        raise AssertionError(f"no button {label or action or text} in {[s.template for s in self.last]}")

    def templates(self) -> list[str]:
        return [s.template for s in self.last]
