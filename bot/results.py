"""The level and score a submission proposed, recorded on the review.

``Submitter`` records them with each submission; drafts submitted before they were recorded
get them once (``record_results``, at start and before a purge), computed from the answers
the way the bundle computes them. Core module: no channel, no storage.
"""

from __future__ import annotations

from typing import Protocol

from bot.bundle import review_facts
from bot.ports import Cells, LoadStore, Results
from bot.state import Forms, steps_for
from bot.words import Words


class ResultStore(LoadStore, Cells, Results, Protocol):
    """Reading a review's answers and recording its result."""


async def record_results(store: ResultStore, forms: Forms, words: Words,
                         round_id: int | None = None) -> int:
    """Record the level and score of every submitted review that lacks them (of one round,
    or of all); inside the caller's transaction. Returns how many were recorded."""
    done = 0
    for review_id, member_id, rid in await store.reviews_without_result(round_id):
        member = await store.member(member_id)
        round_ = await store.round(rid)
        if member is None or round_ is None:
            continue
        answers = await store.answers(review_id)
        steps = await steps_for(store, forms, words, member, round_, answers)
        facts = review_facts(steps, answers)
        await store.set_review_result(review_id, facts.self_level, facts.self_score)
        done += 1
    return done
