"""A member's own data (``/dulieu``): their answers and drafts as files, and, once a round is
closed, the deletion of their answer texts (with a confirmation).

A member reaches only their own reviews: every review id in a button is checked against the
member's own list, and a forged one gets the same refusal as one that does not exist. The
deletion is the retention purge (``bot.retention``) applied to one review: the level, the
score, the count of answers and the drafts' names and dates stay, so the committee's counts
do not change.

Core module: no channel, no storage.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from typing import Protocol
from datetime import datetime

from bot.bundle import ascii_name
from bot.compose import VIETNAM
from bot.errors import NotYours
from bot.flow import Step
from bot.models import Answer, Member, Round, RoundStatus
from bot.ports import Clock, CommitteeStore, LoadStore, OwnData
from bot.results import record_results
from bot.screens import Button, DeskAction, Document, Press, Screen, desk_press
from bot.state import Forms, steps_for
from bot.words import Words

ARCHIVE = "du-lieu-cua-toi.zip"
CSV_ANSWERS = ("Câu", "Câu hỏi", "Trả lời", "Bỏ qua", "Cập nhật lúc")
CSV_HISTORY = ("Mã câu", "Trả lời", "Bỏ qua", "Ghi lúc")


def slug(text: str) -> str:
    """A file or folder name from Vietnamese text: ASCII letters and digits, dashes between."""
    return re.sub(r"[^0-9a-z]+", "-", ascii_name(text).lower()).strip("-")


def _local(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


def _csv(rows: Sequence[Sequence[str]]) -> bytes:
    """UTF-8 with a BOM, so Excel opens Vietnamese text as it is."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def answers_csv(steps: Sequence[Step], answers: dict[str, Answer]) -> bytes:
    """The member's current answers in the order they were asked, choices by their label."""
    rows: list[list[str]] = [list(CSV_ANSWERS)]
    seen: set[str] = set()
    for step in steps:
        answer = answers.get(step.qid)
        if answer is None:
            continue
        seen.add(step.qid)
        question = step.question
        option = question.option(answer.value) if answer.value and question.options else None
        rows.append([question.number or question.id, question.prompt,
                     option.label if option is not None else (answer.value or ""),
                     "x" if answer.skipped else "", _local(answer.updated_at)])
    for qid, answer in sorted(answers.items()):  # answers to questions no longer asked
        if qid not in seen:
            rows.append([qid, "", answer.value or "", "x" if answer.skipped else "",
                         _local(answer.updated_at)])
    return _csv(rows)


def history_csv(history: Sequence[Answer]) -> bytes:
    rows: list[list[str]] = [list(CSV_HISTORY)]
    rows += [[a.qid, a.value or "", "x" if a.skipped else "", _local(a.updated_at)]
             for a in history]
    return _csv(rows)


class ReviewFiles(LoadStore, OwnData, Protocol):
    """What ``archive_review`` reads."""


async def archive_review(archive: zipfile.ZipFile, folder: str, store: ReviewFiles,
                         forms: Forms, words: Words, member: Member, round_: Round,
                         review_id: int) -> tuple[int, int]:
    """One review's answers (now and every change, as CSV) and its drafts, written into
    ``archive`` under ``folder``; returns how many answers and drafts it holds."""
    answers = dict(await store.answers(review_id))
    steps = (await steps_for(store, forms, words, member, round_, answers)) if answers else []
    archive.writestr(folder + "cau-tra-loi.csv", answers_csv(steps, answers))
    archive.writestr(folder + "lich-su-cau-tra-loi.csv",
                     history_csv(await store.all_answer_history(review_id)))
    drafts = [s for s in await store.submissions_of(review_id) if s.docx]
    for draft in drafts:
        archive.writestr(folder + ascii_name(draft.filename), draft.docx)
    return len(answers), len(drafts)


class OwnDataDesk:
    def __init__(self, store: CommitteeStore, clock: Clock, forms: Forms, words: Words) -> None:
        self.store = store
        self.clock = clock
        self.forms = forms
        self.words = words

    async def press(self, member: Member, press: Press) -> list[Screen]:
        if press.desk is DeskAction.CANCEL:
            return [Screen("secretary/cancelled")]
        if press.desk is DeskAction.MY_DATA:
            return await self.files(member)
        round_, review_id = await self._own(member, press.target)
        if round_.status is RoundStatus.OPEN:
            return [Screen("mydata/round_open", {"round": round_.title})]
        counts = await self.store.purge_counts([review_id])
        if round_.purged_at is not None or not any(
                counts[k] for k in ("answers", "history", "drafts")):
            return [Screen("mydata/deleted_already", {"round": round_.title})]
        if press.desk is DeskAction.DELETE_MINE:
            return [Screen("mydata/confirm_delete", {"round": round_.title, **counts},
                           buttons=((Button("confirm_delete_mine", desk_press(
                               DeskAction.CONFIRM_DELETE_MINE, review_id)),
                                     Button("cancel", desk_press(DeskAction.CANCEL))),))]
        now = self.clock.now()
        # The level and score outlive the answers they were computed from.
        await record_results(self.store, self.forms, self.words, round_.id)
        await self.store.purge_reviews([review_id], now)
        await self.store.log_access(member.id, "delete_own", member.id, now)
        return [Screen("mydata/deleted", {"round": round_.title})]

    async def _own(self, member: Member, review_id: int) -> tuple[Round, int]:
        """The member's own review with this id, with its round; ``NotYours`` otherwise."""
        for round_, own in await self.store.rounds_of_member(member.id):
            if own == review_id:
                return round_, own
        raise NotYours()

    async def files(self, member: Member) -> list[Screen]:
        """Every round's answers (now and as they changed) and drafts, in one zip."""
        rounds = await self.store.rounds_of_member(member.id)
        if not rounds:
            return [Screen("mydata/nothing")]
        buffer = io.BytesIO()
        listed = []
        deletable: list[tuple[Round, int]] = []
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for round_, review_id in rounds:
                folder = f"{round_.year}-{slug(round_.title)}-{round_.id}/"
                answers, drafts = await archive_review(archive, folder, self.store, self.forms,
                                                       self.words, member, round_, review_id)
                purged = not answers and not drafts
                listed.append({"round": round_.title, "answers": answers, "drafts": drafts,
                               "open": round_.status is RoundStatus.OPEN, "purged": purged})
                if round_.status is not RoundStatus.OPEN and not purged:
                    deletable.append((round_, review_id))
        now = self.clock.now()
        await self.store.log_access(member.id, "own_data", member.id, now)
        buttons = [Button("delete_mine", desk_press(DeskAction.DELETE_MINE, review_id),
                          text=f"{n}. 🗑 {round_.title}")
                   for n, (round_, review_id) in enumerate(deletable, start=1)]
        return [Screen("mydata/files", {"rounds": listed, "deletable": len(buttons)},
                       document=Document(ARCHIVE, buffer.getvalue()),
                       buttons=tuple((b,) for b in buttons),
                       choices=tuple(b.press for b in buttons))]
