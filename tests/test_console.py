"""The console channel: the newcomer's first run, offline, ends with a Word draft."""

from __future__ import annotations

import io
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import docx

from tests.conftest import REPO


def console(tmp_path: Path, lines: list[str]) -> str:
    env_free = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "handlers.cli", "console"], cwd=tmp_path,
        input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120, check=False,
        env={**env_free, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_console_demo_walks_to_a_word_draft_and_resumes(tmp_path: Path) -> None:
    first = console(tmp_path, ["1", "2", "Có lúc ngại đọc & chưa kỹ", "", "Bận", "",
                               "Đọc lại văn kiện, hoàn thành trước 31/3/2027", ""])
    assert "Nguyễn Văn Mẫu" in first and "Tự soi 1/27" in first
    assert "Tự soi 3/27" in first
    # A second run resumes where the first stopped, with nothing lost.
    second = console(tmp_path, ["/tieptuc"])
    assert "Tự soi 3/27" in second and "Còn " in second

    answers = ["1"] * 25 + ["Ưu điểm năm nay"] + [""]
    form = []
    for _ in range(14):  # text answers and choices, whatever the form asks
        form += ["2", "Nội dung trả lời, hoàn thành trước 30/6/2027", "", "giữ nguyên"]
    third = console(tmp_path, answers + form + ["nộp"])
    assert "Đã lưu tệp Word:" in third, third[-3000:]
    path = Path(third.split("Đã lưu tệp Word: ")[1].splitlines()[0])
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(path.read_bytes())).paragraphs)
    assert "Có lúc ngại đọc & chưa kỹ" in text and "Nguyễn Văn Mẫu" in text


def run_tusoi(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "handlers.cli", *args], cwd=tmp_path, input=stdin,
        capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO)},
    )


def test_problem_14_plain_tusoi_without_a_token_never_touches_the_real_database(
    tmp_path: Path,
) -> None:
    real = tmp_path / "real.sqlite3"
    config = tmp_path / "tusoi.toml"
    config.write_text(f'[database]\npath = "{real}"\n', encoding="utf-8")
    assert run_tusoi(tmp_path, "cell", "add", "--name", "Phòng Thật").returncode == 0
    assert run_tusoi(tmp_path, "member", "add", "--cell", "1", "--name",
                     "Trần Thị Thật").returncode == 0
    before = real.read_bytes()

    result = run_tusoi(tmp_path, stdin="1\n")  # plain `tusoi`, no token, tusoi.toml here
    assert result.returncode == 0, result.stderr
    assert "Nguyễn Văn Mẫu" in result.stdout
    assert "cơ sở dữ liệu riêng" in result.stderr and "TUSOI_TELEGRAM_TOKEN" in result.stderr
    assert real.read_bytes() == before
    with sqlite3.connect(real) as conn:
        assert conn.execute("SELECT full_name FROM members").fetchall() == [("Trần Thị Thật",)]
    assert (tmp_path / "tusoi-demo.sqlite3").is_file()

    # The console's database pointed at a real one: refused, untouched.
    config.write_text(f'[database]\npath = "{tmp_path / "other.sqlite3"}"\n'
                      f'[console]\ndatabase = "{real}"\n', encoding="utf-8")
    refused = run_tusoi(tmp_path, "console", stdin="1\n")
    assert refused.returncode == 1 and "đã có chi bộ thật" in refused.stderr
    assert real.read_bytes() == before


# Ctrl-C as a terminal delivers it. A shell that starts the tests in the background
# (``cmd &``) gives them SIGINT ignored, and an ignored signal stays ignored across exec: the
# console would never see the Ctrl-C. So the child restores it, then becomes the console.
AS_AT_A_TERMINAL = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}); "
    "os.execv(sys.executable, [sys.executable, '-m', 'handlers.cli', 'console'])"
)


def test_problem_16_ctrl_c_ends_the_console_at_once_without_a_traceback(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", AS_AT_A_TERMINAL], cwd=tmp_path,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO),
             "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        seen = b""
        while b"\n> " not in seen:  # the prompt: the reader is waiting on standard input
            chunk = proc.stdout.read1(4096)
            assert chunk, seen
            seen += chunk
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)  # once
        # wait() rather than communicate(): communicate closes standard input, which would
        # end the console the Ctrl-D way (exit 0) should the signal be missed.
        proc.wait(timeout=10)
        elapsed = time.monotonic() - started
        assert proc.stderr is not None
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert b"Traceback" not in err and b"Ctrl-C" in err
    assert elapsed < 5, elapsed
