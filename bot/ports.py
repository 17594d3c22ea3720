"""What the core needs from the outside world, stated as narrow protocols.

The storage package implements ``Store`` on SQLite; tests may use it on a temporary
file. The core never imports an implementation.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.models import Account, Answer, Cell, Member, Review, Round, Submission


class Redeem(StrEnum):
    OK = "ok"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class Store(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[None]:
        """Everything awaited inside commits together, or not at all."""
        ...

    async def claim_event(self, key: str, now: datetime) -> bool:
        """Record a delivered update; False if it was already handled."""
        ...

    async def account(self, channel: str, external_id: str) -> Account | None: ...
    async def accounts_of(self, member_id: int) -> list[Account]: ...
    async def member(self, member_id: int) -> Member | None: ...
    async def cell(self, cell_id: int) -> Cell | None: ...
    async def cell_officers(self, cell_id: int) -> list[Member]: ...
    async def open_round(self, cell_id: int) -> Round | None: ...
    async def round(self, round_id: int) -> Round | None: ...
    async def review(self, review_id: int) -> Review | None: ...
    async def review_for(self, round_id: int, member_id: int) -> Review | None: ...
    async def create_review(self, round_id: int, member_id: int, now: datetime) -> Review: ...
    async def answers(self, review_id: int) -> Mapping[str, Answer]: ...

    async def save_answer(
        self,
        review_id: int,
        qid: str,
        value: str | None,
        *,
        skipped: bool,
        vague: bool,
        now: datetime,
    ) -> None:
        """Store the answer (keeping the previous one in its history) and clear the cursor."""
        ...

    async def set_cursor(self, review_id: int, qid: str | None) -> None: ...

    async def set_pending(
        self, review_id: int, qid: str | None, text: str | None, warned: bool
    ) -> None: ...

    async def mark_in_progress(self, review_id: int) -> None: ...
    async def add_submission(
        self, review_id: int, filename: str, docx: bytes, now: datetime
    ) -> int: ...
    async def latest_submission(self, review_id: int) -> Submission | None: ...

    async def redeem_invite(
        self, code_hash: str, channel: str, external_id: str, now: datetime
    ) -> tuple[Redeem, int | None]:
        """Bind the account to the invite's member if the code is valid; return the member id."""
        ...

    async def failed_link_attempts(self, channel: str, external_id: str, since: datetime) -> int: ...
    async def record_failed_link(self, channel: str, external_id: str, now: datetime) -> None: ...
