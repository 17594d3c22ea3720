"""A picture of a draft's first page, so a Zalo member can read it in the chat.

LibreOffice (``soffice``, Debian: ``libreoffice-writer-nogui``) converts the .docx to PDF,
headless, in a throw-away profile; pypdfium2 renders page 1; the PNG is written here with
zlib (no imaging library needed). Without LibreOffice there is no preview, only the link.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pypdfium2

RENDER_TIMEOUT = 120  # seconds; LibreOffice's first start in a fresh profile is the slow part
SCALE = 1.5  # 108 dpi: an A4 page is about 893 × 1263 pixels, readable on a phone


def available() -> bool:
    """Whether LibreOffice is installed."""
    return soffice() is not None


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def first_page_png(docx: bytes, *, scale: float = SCALE) -> bytes:
    """Page 1 of ``docx`` as PNG. Raises ``RuntimeError`` when LibreOffice is missing or fails
    (blocking: run it in a thread)."""
    program = soffice()
    if program is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    with tempfile.TemporaryDirectory(prefix="tusoi-preview-") as tmp:
        work = Path(tmp)
        source = work / "draft.docx"
        source.write_bytes(docx)
        result = subprocess.run(
            [program, f"-env:UserInstallation=file://{work}/profile", "--headless",
             "--convert-to", "pdf", "--outdir", str(work), str(source)],
            capture_output=True, timeout=RENDER_TIMEOUT, check=False,
        )
        pdf = work / "draft.pdf"
        if result.returncode != 0 or not pdf.is_file():
            raise RuntimeError(f"LibreOffice could not convert the draft (exit {result.returncode})")
        document = pypdfium2.PdfDocument(pdf.read_bytes())
        try:
            bitmap = document[0].render(scale=scale, rev_byteorder=True)
            width, height, stride = bitmap.width, bitmap.height, bitmap.stride
            channels = bitmap.n_channels
            raw = bytes(bitmap.buffer)
        finally:
            document.close()
    return png(raw, width, height, stride, channels)


def png(raw: bytes, width: int, height: int, stride: int, channels: int) -> bytes:
    """Encode RGB, RGBx or grey rows as an 8-bit PNG (filter 0 on every row)."""
    if channels == 4:  # RGBx / RGBA: drop the fourth byte
        lines = []
        for y in range(height):
            line = bytearray(raw[y * stride:y * stride + width * 4])
            del line[3::4]
            lines.append(b"\x00" + bytes(line))
        rows = b"".join(lines)
        colour = 2
    elif channels in (1, 3):
        rows = b"".join(b"\x00" + raw[y * stride:y * stride + width * channels]
                        for y in range(height))
        colour = 2 if channels == 3 else 0
    else:
        raise ValueError(f"{channels} channels")

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))
