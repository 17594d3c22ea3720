"""How long the cell's bundle and one member's draft take to build (targets: ≤ 3 s, ≤ 50 ms).

Fifty drafts are rendered from ``bot.draft.sample_context()`` (names varied), then the bundle for
a 50-member cell is built from them: drafts copied into the zip, two workbooks, two Word
documents from their templates, and the classification proposal. Run from the repository root::

    .venv/bin/python bench/bench_bundle.py [--members 50] [--repeat 5]

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.bundle import (
    SUBMITTED, BundleMember, build_bundle, load_texts, proposal_inputs,
)
from bot.compose import sample_2025_context
from bot.draft import TEMPLATE_2025, render_draft
from bot.models import Cell
from bot.proposal import load_rules, propose

LEVELS = ("htxs", "htt", "htt", "htt", "ht")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    texts, rules = load_texts(), load_rules().at(date(2026, 12, 18))
    cell = Cell(1, "Phòng Kế hoạch – Tài chính", "Sở Tài chính", "Bắc Ninh")
    now = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)

    render_times = []
    drafts = []
    sample = sample_2025_context()  # a 2B draft with part B and a three-task annex
    for index in range(args.members):
        context = copy.deepcopy(sample)
        context["full_name"] = f"Nguyễn Văn Thử {index + 1}"
        started = time.perf_counter()
        data = render_draft(TEMPLATE_2025, context)
        render_times.append(time.perf_counter() - started)
        drafts.append((f"ban-kiem-diem-2026-nguyen-van-thu-{index + 1}-v1.docx", data))

    members = [
        BundleMember(
            member_id=index + 1, full_name=f"Nguyễn Văn Thử {index + 1}", party_post=None,
            gov_post="Chuyên viên", is_leader=index % 7 == 0, status=SUBMITTED,
            submitted_at=now, self_score=92 if index % 5 == 0 else 80,
            self_level=LEVELS[index % 5], admitted_items=("1.4",) if index % 4 == 0 else (),
            flags=("vague_remedy",) if index % 6 == 0 else (), joined_on=date(2015, 1, 1),
        )
        for index in range(args.members)
    ]

    bundle_times = []
    size = 0
    for _ in range(args.repeat):
        started = time.perf_counter()
        proposal = propose(proposal_inputs(members), rules, date(2026, 12, 18))
        bundle = build_bundle(cell, "Kiểm điểm cuối năm 2026", 2026, members, drafts, proposal,
                              texts, now)
        bundle_times.append(time.perf_counter() - started)
        size = len(bundle)

    print(f"python {platform.python_version()} on {platform.machine()} ({platform.system()})")
    print(f"draft render (2025 form 2B with part B and annex), one member: first {render_times[0] * 1000:.1f} ms, "
          f"median {statistics.median(render_times) * 1000:.1f} ms, "
          f"max {max(render_times) * 1000:.1f} ms over {len(render_times)} (target ≤ 50 ms)")
    print(f"bundle, {args.members} members (proposal + zip, drafts already rendered): "
          f"first {bundle_times[0]:.3f} s, median {statistics.median(bundle_times):.3f} s, "
          f"max {max(bundle_times):.3f} s over {len(bundle_times)} (target ≤ 3 s); "
          f"zip {size / 1_000_000:.2f} MB")
    total = sum(render_times) + bundle_times[0]
    print(f"bundle including rendering all {args.members} drafts from scratch: {total:.3f} s")


if __name__ == "__main__":
    main()
