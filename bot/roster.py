"""Reading the cell's roster (danh sách đảng viên) that the secretary sends as CSV or XLSX.

``parse_roster`` never imports anything: it returns a ``RosterPreview`` the secretary looks at
before confirming. A file that cannot be read at all gets one ``file_problem`` and no rows, so
nothing is ever half-imported; a readable file gives the good rows, and each bad row is left out
with its row number, column and a reason code. Reason codes are ASCII; the Vietnamese sentences
live in ``templates/bundle.toml`` under ``[roster]`` (``describe_problem`` renders them).

Row numbers are the ones the secretary sees in Excel: the header is on its own row number and
empty rows still count, so "Dòng 7" is row 7 in the spreadsheet.

Core module: no channel, no storage, no clock (``today`` is an argument).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.draft import clean_line
from bot.models import Category, Standing
from bot.text import strip_marks

# Our field ids, in the order the roster shows them.
FIELDS: tuple[str, ...] = (
    "full_name", "birth_date", "party_post", "gov_post", "mass_post", "work_unit",
    "is_leader", "joined_on", "category", "standing",
)
# A roster needs a name, a birth date, and either the leader column or the category column.
REQUIRED: tuple[str, ...] = ("full_name", "birth_date")
ONE_OF: tuple[str, ...] = ("category", "is_leader")
EITHER_CATEGORY = "category_or_leader"  # how a missing ONE_OF is named in messages

# Header spellings, folded (no accents, no case, letters and digits only). A header matches a
# field when its folded form is one of these; a parenthesised note ("Lãnh đạo (có/không)") is
# dropped before folding.
HEADER_ALIASES: Mapping[str, tuple[str, ...]] = {
    "full_name": (
        "hovaten", "hoten", "hotendangvien", "hovatendangvien", "hotendaydu", "fullname", "name",
    ),
    "birth_date": (
        "ngaysinh", "ngaythangnamsinh", "sinhngay", "ngaysinhddmmyyyy", "birthdate", "dateofbirth",
    ),
    "party_post": ("chucvudang", "chucvutrongdang", "chucvudangvien", "partypost"),
    "gov_post": ("chucvuchinhquyen", "chucvuchuyenmon", "chucvucongtac", "chucvucoquan", "govpost"),
    "mass_post": ("chucvudoanthe", "chucvutrongdoanthe", "chucvutochucdoanthe", "masspost"),
    "work_unit": (
        "donvicongtac", "noicongtac", "coquancongtac", "donvi", "coquandonvi", "workunit",
    ),
    "is_leader": (
        "lanhdao", "lanhdaoquanly", "giuchucvulanhdaoquanly", "giuchucvulanhdao",
        "canbolanhdaoquanly", "cochucvulanhdaoquanly", "leader", "isleader",
    ),
    # The admission date (ngày kết nạp), never the day membership became official
    # ("Ngày chính thức"), which stays an ignored column.
    "joined_on": (
        "ngayvaodang", "ngayketnap", "ngayketnapdang", "ngayketnapvaodang", "ngaykn", "ngayvd",
        "ngayketnapdangvien", "vaodangngay", "ketnapngay", "thoigianvaodang", "joinedon",
    ),
    # Which 2025 form the member writes: leader (2A), no post (2B), outside the political
    # system (2C). The values a Party office types are in CATEGORY_VALUES.
    "category": (
        "doituong", "doituongkiemdiem", "doituongdanhgia", "phanloai", "phanloaidangvien",
        "loaidangvien", "nhomdangvien", "maukiemdiem", "maubankiemdiem", "mau", "category",
    ),
    "standing": (
        "tinhtrangsinhhoat", "tinhtrangsinhhoatdang", "tinhtrangdangvien", "miensinhhoat",
        "mienhoacdinhchi", "miendinhchi", "standing",
    ),
}
# Category values as offices type them, folded like headers. "02A" and "02B" are refused:
# they are the 2023 letters, which meant the opposite (02A had no post, 02B led).
CATEGORY_VALUES: Mapping[Category, frozenset[str]] = {
    Category.LEADER: frozenset({
        "lanhdao", "lanhdaoquanly", "giuchucvulanhdaoquanly", "giuchucvulanhdao", "giuchucvu",
        "cochucvu", "cochucvulanhdaoquanly", "canbolanhdaoquanly", "canbolanhdao", "ldql",
        "2a", "mau2a", "leader",
    }),
    Category.NO_POST: frozenset({
        "khonggiuchucvulanhdaoquanly", "khonggiuchucvulanhdao", "khonggiuchucvu",
        "khongchucvu", "khonglanhdao", "khonglanhdaoquanly", "2b", "mau2b", "nopost",
    }),
    Category.OUTSIDE: frozenset({
        "ngoaihethongchinhtri", "khonglamviectronghethongchinhtri", "khongtronghethongchinhtri",
        "ngoaihethong", "huutri", "nghihuu", "canbohuutri", "hocsinh", "sinhvien",
        "hocsinhsinhvien", "doanhnghieptunhan", "tunhan", "laodongtudo", "tudo", "2c", "02c",
        "mau2c", "mau02c", "outside",
    }),
}
OLD_LETTERS = frozenset({"02a", "02b", "mau02a", "mau02b"})
STANDING_VALUES: Mapping[Standing | None, frozenset[str]] = {
    Standing.EXEMPTED: frozenset({
        "mien", "miensinhhoat", "miencongtac", "miencongtacvasinhhoatdang",
        "miencongtacvasinhhoat", "miencongtacsinhhoatdang", "miensinhhoatdang", "exempted",
    }),
    Standing.SUSPENDED: frozenset({
        "dinhchi", "dinhchisinhhoat", "dinhchisinhhoatdang", "bidinhchisinhhoatdang",
        "suspended",
    }),
    None: frozenset({"", "binhthuong", "dangsinhhoat", "sinhhoatbinhthuong", "khong", "-"}),
}
# Headers that are known and deliberately not imported (row counters).
IGNORED_HEADERS = frozenset({"stt", "tt", "sott", "so", "sothutu"})
# When a roster splits the name in two columns ("Họ và tên đệm" | "Tên"), the two are joined.
SPLIT_NAME_FIRST = frozenset({"ho", "hodem", "holot", "hovatendem", "hovachulot"})
SPLIT_NAME_LAST = frozenset({"ten"})

YES = frozenset({"co", "x", "1", "yes", "y", "true", "dung", "c", "v", "✓", "✔", "lanhdao"})
NO = frozenset({"", "khong", "k", "0", "no", "n", "false", "sai", "-", "ko"})

MAX_BYTES = 10_000_000  # a 2,000-member roster is well under 1 MB
# XLSX parts, once unzipped: a 2,000-row roster's sheet is about 1-2 MB of XML. Refuses zip
# bombs before parsing (a 232 KB file can unpack to 90 MB and take a minute to read).
MAX_UNPACKED = 25_000_000
MAX_CELL = 200  # characters in one roster cell
MAX_COLUMNS = 60  # columns read per row; a roster has about ten
MAX_CELLS = 250_000  # cells in the sheet's XML, counted before openpyxl reads any
HEADER_SCAN_ROWS = 15  # a title block above the header is common
EXTRA_EMPTY_ROWS = 10_000  # formatted but empty rows tolerated beyond max_rows

# File problems (one per file; nothing is imported).
NOT_A_ROSTER = "not_a_roster"
OLD_EXCEL = "old_excel"
TOO_LARGE = "too_large"
TOO_MANY_ROWS = "too_many_rows"
UNDECODABLE = "undecodable"
MISSING_COLUMNS = "missing_columns"
UNREADABLE_XLSX = "unreadable_xlsx"
NO_ROWS = "no_rows"
CELL_TOO_LARGE = "cell_too_large"  # a CSV field beyond what the csv module reads (128 KiB)
TOO_COMPLEX = "too_complex"  # reading took more memory or time than a roster can need
FILE_PROBLEMS = (
    NOT_A_ROSTER, OLD_EXCEL, TOO_LARGE, TOO_MANY_ROWS, UNDECODABLE, MISSING_COLUMNS,
    UNREADABLE_XLSX, NO_ROWS, CELL_TOO_LARGE, TOO_COMPLEX,
)
# Row problems: the row is left out of the import.
ROW_PROBLEMS = (
    "missing_name", "bad_name", "bad_date", "date_in_future", "joined_before_birth",
    "bad_leader_value", "formula_not_computed", "formula_error", "too_long", "duplicate",
    "bad_category", "old_form_letter", "category_conflict", "bad_standing",
)
# Warnings: the row is imported, the secretary is told.
WARNINGS = ("merged_cells", "missing_birth_date", "ignored_columns")


@dataclass(frozen=True)
class RosterRow:
    """One member as read from the roster, cleaned (NFC, single spaces)."""

    row_number: int
    full_name: str
    birth_date: date | None
    party_post: str | None
    gov_post: str | None
    mass_post: str | None
    work_unit: str | None
    is_leader: bool
    joined_on: date | None
    category: Category = Category.NO_POST
    standing: Standing | None = None

    def member_fields(self) -> dict[str, Any]:
        """Keyword arguments for storing the member (birth date written dd/mm/yyyy)."""
        return {
            "full_name": self.full_name,
            "birth_date": format_date(self.birth_date) if self.birth_date else None,
            "party_post": self.party_post,
            "gov_post": self.gov_post,
            "mass_post": self.mass_post,
            "work_unit": self.work_unit,
            "is_leader": self.is_leader,
            "category": self.category,
            "standing": self.standing,
        }


@dataclass(frozen=True)
class RowProblem:
    """Why a row (or, for warnings, a cell range) needs the secretary's attention.

    ``column`` is a field id from ``FIELDS`` or None; ``detail`` is data for the message
    (a cell reference, the value read, the other row's number), never prose.
    """

    row_number: int
    column: str | None
    reason_code: str
    detail: str = ""


@dataclass(frozen=True)
class RosterPreview:
    """What an import would do. Import ``rows`` only if ``file_problem`` is None."""

    rows: list[RosterRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    file_problem: str | None = None
    missing_columns: list[str] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)  # (later row, first row)
    warnings: list[RowProblem] = field(default_factory=list)
    empty_rows: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # field id -> header as written
    ignored_columns: list[str] = field(default_factory=list)
    source: str = ""  # "csv:utf-8-sig:," or "xlsx:Sheet1": how the file was read
    file_detail: str = ""  # data for the file problem's message (e.g. the row limit)

    @property
    def importable(self) -> bool:
        return self.file_problem is None and bool(self.rows)


class _FileProblem(Exception):
    def __init__(self, code: str, detail: str = "", missing: Sequence[str] = ()) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.missing = list(missing)


# ----------------------------------------------------------------- small helpers


def fold(text: str) -> str:
    """"Họ và tên (*)" -> "hovaten": what header matching and duplicate checks compare."""
    bare = strip_marks(re.sub(r"\([^)]*\)|\[[^\]]*\]", "", text))
    return "".join(ch for ch in bare if ch.isalnum() or ch in "✓✔")


def format_date(value: date) -> str:
    return value.strftime("%d/%m/%Y")


_DATE_RE = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})$")
_ISO_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$")
_EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(value: Any) -> date | None:
    """A roster date: dd/mm/yyyy (also with - or .), ISO yyyy-mm-dd, or an Excel date.

    Returns None for an empty cell; raises ValueError for anything else it cannot read.
    Day first always: Vietnamese rosters never put the month first.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # An Excel serial left without a date format; 1 = 1900-01-01, with Excel's leap bug.
        if not 1 <= value <= 2_958_465:
            raise ValueError(str(value))
        return _EXCEL_EPOCH + timedelta(days=int(value))
    text = clean_line(value)
    if not text:
        return None
    match = _DATE_RE.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        return date(year, month, day)
    match = _ISO_RE.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        return date(year, month, day)
    raise ValueError(text)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return format_date(value.date())
    if isinstance(value, date):
        return format_date(value)
    return clean_line(value)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# ----------------------------------------------------------------- what kind of file


_BINARY_MAGIC: tuple[bytes, ...] = (
    b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF", b"II*\x00", b"MM\x00*",
    b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf", b"{\\rtf", b"OggS", b"ID3", b"\x00\x00\x00",
)


def _kind(content: bytes) -> str:
    """"xlsx", "csv", "old_excel" or "other", from the bytes (never the file name)."""
    if content.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return "other"
        return "xlsx" if "xl/workbook.xml" in names else "other"
    if content.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "old_excel"  # OLE2: Excel 97-2003 (.xls); also old .doc, told apart by nobody
    if content.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "csv"
    if any(content.startswith(magic) for magic in _BINARY_MAGIC):
        return "other"
    return "csv"


# ----------------------------------------------------------------- CSV


def decode_text(content: bytes) -> tuple[str, str]:
    """The text of a CSV export and the codec that read it, NFC-normalised.

    BOMs decide first (UTF-8, UTF-16 LE/BE as Excel's "Unicode text" writes them); then
    BOM-less UTF-16 (every other byte NUL), strict UTF-8, and finally Windows-1258, the code
    page Vietnamese Windows saves CSV in. cp1258 writes tone marks as combining characters,
    so the result is normalised to NFC. Raises ``_FileProblem(UNDECODABLE)`` otherwise.
    """
    candidates: list[str]
    if content.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        head = content[:4000]
        even_nuls = head[0::2].count(0)
        odd_nuls = head[1::2].count(0)
        half = max(1, len(head) // 4)
        if odd_nuls > half and even_nuls == 0:
            candidates = ["utf-16-le"]
        elif even_nuls > half and odd_nuls == 0:
            candidates = ["utf-16-be"]
        else:
            candidates = ["utf-8", "cp1258"]
    for codec in candidates:
        try:
            text = content.decode(codec)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            continue
        return unicodedata.normalize("NFC", text), codec
    raise _FileProblem(UNDECODABLE)


def _delimiter(text: str) -> str:
    """Tab, semicolon or comma: whichever splits the first lines most (quotes respected)."""
    sample = [line for line in text.splitlines()[:HEADER_SCAN_ROWS] if line.strip()]
    best, best_count = ",", 0
    for candidate in ("\t", ";", ","):
        try:
            count = max(
                (len(next(csv.reader([line], delimiter=candidate), [])) for line in sample),
                default=0,
            )
        except csv.Error as exc:  # a field over the csv module's limit (128 KiB)
            raise _FileProblem(CELL_TOO_LARGE) from exc
        if count > best_count:
            best, best_count = candidate, count
    return best


def _csv_rows(content: bytes) -> tuple[Iterator[tuple[int, list[Any], list[str]]], str]:
    text, codec = decode_text(content)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def rows() -> Iterator[tuple[int, list[Any], list[str]]]:
        try:
            for number, record in enumerate(reader, start=1):
                yield number, list(record), []
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise _FileProblem(CELL_TOO_LARGE) from exc
            raise _FileProblem(NOT_A_ROSTER, str(exc)) from exc

    return rows(), f"csv:{codec}:{'tab' if delimiter == chr(9) else delimiter}"


# ----------------------------------------------------------------- XLSX

_FORMULA_ERRORS = frozenset(
    {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
     "#SPILL!", "#CALC!"}
)
_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_FORMULA = "\x00formula"  # marks a formula cell without a cached value


_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_ROW_RE = re.compile(rb"<(?:\w+:)?row[\s>/]")
_CELL_RE = re.compile(rb"<(?:\w+:)?c[\s>/]")
_F_RE = re.compile(rb"<(?:\w+:)?f[\s>/]")
_OVERLAP = 64


@dataclass(frozen=True)
class _SheetScan:
    title: str
    rows: int  # <row> elements, empty formatted ones included
    cells: int  # <c> elements
    has_formulas: bool
    merged: list[tuple[str, int]]  # (range, first row)


def _first_visible_sheet(archive: zipfile.ZipFile) -> tuple[str, str]:
    """Title and package path of the first visible worksheet, from the workbook's own XML."""
    from xml.etree import ElementTree

    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter(f"{_NS_PKG}Relationship")
               if rel.get("Type", "").endswith("/worksheet")}
    for sheet in book.iter(f"{_NS_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_NS_REL}id"))
        if target is None or sheet.get("state", "visible") != "visible":
            continue  # hidden, very hidden, or a chart sheet
        path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        return sheet.get("name", ""), path
    raise _FileProblem(NO_ROWS)


def _scan_sheet(archive: zipfile.ZipFile, row_limit: int) -> _SheetScan:
    """Count rows, spot formulas and merged ranges by streaming the raw sheet XML.

    This runs before openpyxl, so a 50,000-row file is refused after one cheap pass.
    """
    title, path = _first_visible_sheet(archive)
    rows = cells = 0
    has_formulas = False
    merged: list[tuple[str, int]] = []
    tail = b""
    with archive.open(path) as stream:
        while True:
            chunk = stream.read(1 << 20)
            buffer = tail + chunk
            safe = len(buffer) if not chunk else max(0, len(buffer) - _OVERLAP)
            for match in _ROW_RE.finditer(buffer):
                if match.start() < safe:
                    rows += 1
            cells += sum(1 for match in _CELL_RE.finditer(buffer) if match.start() < safe)
            if rows > row_limit:  # the more useful reason first, as soon as it is known
                return _SheetScan(title, rows, cells, has_formulas, merged)
            if cells > MAX_CELLS:
                raise _FileProblem(TOO_COMPLEX)
            if not has_formulas and _F_RE.search(buffer):
                has_formulas = True
            for match in _MERGE_RE.finditer(buffer):
                if match.start() < safe:
                    first_col, first_row, last_col, last_row = match.groups()
                    ref = f"{first_col.decode()}{first_row.decode()}"
                    if last_col:
                        ref += f":{last_col.decode()}{last_row.decode()}"
                    merged.append((ref, int(first_row)))
            if not chunk:
                break
            tail = buffer[safe:]
    return _SheetScan(title, rows, cells, has_formulas, merged)


def _xlsx_rows(
    content: bytes, max_rows: int
) -> tuple[Iterator[tuple[int, list[Any], list[str]]], str, list[tuple[str, int]]]:
    """Rows of the first visible worksheet, with values Excel cached for formulas.

    When the sheet has formulas, a second streaming pass runs beside the first to tell an
    empty cell from a formula nobody calculated (openpyxl reports both as None in data-only
    mode). Also returns the merged ranges as (range, first row).
    """
    import openpyxl  # local: only XLSX uploads pay for it

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked > 4 * MAX_UNPACKED:
                raise _FileProblem(TOO_COMPLEX)
            scan = _scan_sheet(archive, max_rows + EXTRA_EMPTY_ROWS)
    except _FileProblem:
        raise
    except Exception as exc:  # a damaged package: bad zip, bad XML, missing parts
        raise _FileProblem(UNREADABLE_XLSX, type(exc).__name__) from exc
    if scan.rows > max_rows + EXTRA_EMPTY_ROWS:
        raise _FileProblem(TOO_MANY_ROWS, str(max_rows))
    if unpacked > MAX_UNPACKED:  # e.g. a shared-string table no roster needs
        raise _FileProblem(TOO_COMPLEX)

    try:
        values_book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        formula_book = (
            openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
            if scan.has_formulas else None
        )
        values_sheet = values_book[scan.title]
        formula_sheet = formula_book[scan.title] if formula_book is not None else None
    except Exception as exc:  # openpyxl raises many kinds on a damaged package
        raise _FileProblem(UNREADABLE_XLSX, type(exc).__name__) from exc
    for sheet in (values_sheet, formula_sheet):
        if sheet is not None:
            sheet.reset_dimensions()  # the stored dimension may be stale: read every row

    def rows() -> Iterator[tuple[int, list[Any], list[str]]]:
        try:
            values_rows = values_sheet.iter_rows(min_row=1, max_col=MAX_COLUMNS,
                                                 values_only=True)
            if formula_sheet is None:
                for number, values in enumerate(values_rows, start=1):
                    yield number, list(values), []
                return
            formula_rows = formula_sheet.iter_rows(min_row=1, max_col=MAX_COLUMNS,
                                                   values_only=True)
            for number, (values, formulas) in enumerate(zip(values_rows, formula_rows), start=1):
                row: list[Any] = list(values)
                for col, formula in enumerate(formulas):
                    if col >= len(row):
                        row.append(None)
                    if row[col] is None and _is_formula(formula):
                        row[col] = _FORMULA
                yield number, row, []
        finally:
            values_book.close()
            if formula_book is not None:
                formula_book.close()

    return rows(), f"xlsx:{scan.title}", scan.merged


def _is_formula(value: Any) -> bool:
    if isinstance(value, str):
        return value.startswith("=")
    return value is not None and type(value).__name__ in {"ArrayFormula", "DataTableFormula"}


# ----------------------------------------------------------------- header


def _match_header(cells: Sequence[Any]) -> tuple[dict[str, int], list[str], tuple[int, int] | None]:
    """Field id -> column index, unrecognised headers, and a split-name column pair."""
    found: dict[str, int] = {}
    unknown: list[str] = []
    first_part = last_part = None
    for col, cell in enumerate(cells):
        text = _cell_text(cell)
        key = fold(text)
        if not key:
            continue
        for name, aliases in HEADER_ALIASES.items():
            if key in aliases and name not in found:
                found[name] = col
                break
        else:
            if key in SPLIT_NAME_FIRST and first_part is None:
                first_part = col
            elif key in SPLIT_NAME_LAST and last_part is None:
                last_part = col
            elif key not in IGNORED_HEADERS:
                unknown.append(text)
    split = None
    if "full_name" not in found and first_part is not None and last_part is not None:
        split = (first_part, last_part)
    return found, unknown, split


# ----------------------------------------------------------------- rows


@dataclass(frozen=True)
class Unrecognised:
    """A category or standing value nobody could read; ``code`` is the row problem's code."""

    code: str


def parse_category(text: str) -> Category | Unrecognised | None:
    """A category as typed: the Category, None for an empty cell, or Unrecognised
    ("old_form_letter" for the 2023 letters 02A/02B, "bad_category" otherwise)."""
    key = fold(text)
    if not key:
        return None
    for category, values in CATEGORY_VALUES.items():
        if key in values:
            return category
    return Unrecognised("old_form_letter" if key in OLD_LETTERS else "bad_category")


def parse_standing(text: str) -> Standing | Unrecognised | None:
    """A standing as typed: exempted, suspended, None (normal), or Unrecognised."""
    key = fold(text)
    for standing, values in STANDING_VALUES.items():
        if key in values:
            return standing
    return Unrecognised("bad_standing")


def _leader(text: str) -> bool | None:
    key = fold(text)
    if key in YES:
        return True
    if key in NO:
        return False
    return None


def _read_row(
    number: int,
    raw: list[Any],
    columns: Mapping[str, int],
    split: tuple[int, int] | None,
    today: date | None,
) -> tuple[RosterRow | None, list[RowProblem], list[RowProblem]]:
    problems: list[RowProblem] = []
    warnings: list[RowProblem] = []

    def cell(col: int | None) -> Any:
        return raw[col] if col is not None and col < len(raw) else None

    values: dict[str, Any] = {name: cell(col) for name, col in columns.items()}
    if split is not None:
        first, last = (_cell_text(cell(c)) for c in split)
        values["full_name"] = f"{first} {last}".strip()

    for name, value in list(values.items()):
        col = columns.get(name)
        ref = f"{_column_letter(col)}{number}" if col is not None else ""
        if value == _FORMULA:
            problems.append(RowProblem(number, name, "formula_not_computed", ref))
            values[name] = None
        elif isinstance(value, str) and value.strip() in _FORMULA_ERRORS:
            problems.append(RowProblem(number, name, "formula_error", f"{ref} {value.strip()}"))
            values[name] = None
        elif isinstance(value, str) and len(value) > MAX_CELL:
            problems.append(RowProblem(number, name, "too_long", str(len(value))))
            values[name] = None

    texts = {name: _cell_text(values.get(name)) for name in FIELDS if name not in
             ("birth_date", "joined_on")}

    name = texts["full_name"]
    if not name:
        if not any(p.column == "full_name" for p in problems):
            problems.append(RowProblem(number, "full_name", "missing_name"))
    elif any(ch.isdigit() for ch in name) or sum(ch.isalpha() for ch in name) < 2:
        problems.append(RowProblem(number, "full_name", "bad_name", name))

    dates: dict[str, date | None] = {}
    for date_field in ("birth_date", "joined_on"):
        value = values.get(date_field)
        try:
            dates[date_field] = parse_date(value)
        except (ValueError, OverflowError):
            problems.append(RowProblem(number, date_field, "bad_date", _cell_text(value)))
            dates[date_field] = None
            continue
        parsed = dates[date_field]
        if parsed is not None and today is not None and parsed > today:
            problems.append(RowProblem(number, date_field, "date_in_future", format_date(parsed)))
    birth, joined = dates["birth_date"], dates["joined_on"]
    if birth is not None and joined is not None and joined <= birth:
        problems.append(RowProblem(number, "joined_on", "joined_before_birth", format_date(joined)))
    if birth is None and not any(p.column == "birth_date" for p in problems):
        warnings.append(RowProblem(number, "birth_date", "missing_birth_date"))

    leader = _leader(texts["is_leader"]) if "is_leader" in columns else False
    if leader is None:
        problems.append(RowProblem(number, "is_leader", "bad_leader_value", texts["is_leader"]))
    category = parse_category(texts["category"])
    if isinstance(category, Unrecognised):
        problems.append(RowProblem(number, "category", category.code, texts["category"]))
        category = None
    elif category is not None and leader is not None and texts["is_leader"] and (
            leader != (category is Category.LEADER)):
        problems.append(RowProblem(number, "category", "category_conflict",
                                   f"{texts['category']} / {texts['is_leader']}"))
    if category is None:
        category = Category.LEADER if leader else Category.NO_POST
    standing = parse_standing(texts["standing"])
    if isinstance(standing, Unrecognised):
        problems.append(RowProblem(number, "standing", standing.code, texts["standing"]))
        standing = None

    if problems:
        return None, problems, warnings
    return (
        RosterRow(
            row_number=number,
            full_name=name,
            birth_date=birth,
            party_post=texts["party_post"] or None,
            gov_post=texts["gov_post"] or None,
            mass_post=texts["mass_post"] or None,
            work_unit=texts["work_unit"] or None,
            is_leader=category is Category.LEADER,
            joined_on=joined,
            category=category,
            standing=standing,
        ),
        problems,
        warnings,
    )


def _is_empty(raw: Iterable[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in raw)


# ----------------------------------------------------------------- entry point


def parse_roster(
    filename: str,
    content: bytes,
    *,
    max_rows: int = 2000,
    today: date | None = None,
) -> RosterPreview:
    """Read a roster upload and say what importing it would do, row by row.

    ``filename`` is only echoed in messages: the format is told from the bytes, because chat
    apps rename files. Over ``max_rows`` non-empty data rows the file is refused without
    reading the rest. ``today`` (optional) lets dates in the future be caught.
    """
    del filename  # the content decides; kept in the signature for the caller's symmetry
    if len(content) > MAX_BYTES:
        return RosterPreview(file_problem=TOO_LARGE, file_detail=str(MAX_BYTES // 1_000_000))
    if not content.strip():
        return RosterPreview(file_problem=NO_ROWS)
    kind = _kind(content)
    if kind == "other":
        return RosterPreview(file_problem=NOT_A_ROSTER)
    if kind == "old_excel":
        return RosterPreview(file_problem=OLD_EXCEL)
    try:
        return _parse(kind, content, max_rows, today)
    except _FileProblem as problem:
        return RosterPreview(
            file_problem=problem.code, file_detail=problem.detail,
            missing_columns=problem.missing,
        )


def _parse(kind: str, content: bytes, max_rows: int, today: date | None) -> RosterPreview:
    merged: list[tuple[str, int]] = []
    if kind == "xlsx":
        rows_iter, source, merged = _xlsx_rows(content, max_rows)
    else:
        rows_iter, source = _csv_rows(content)

    # Find the header among the first non-empty rows (a title block may sit above it).
    header_number = 0
    columns: dict[str, int] = {}
    unknown: list[str] = []
    split: tuple[int, int] | None = None
    header_cells: list[Any] = []
    seen = 0
    best_score = 0
    for number, raw, _ in rows_iter:
        if _is_empty(raw):
            continue
        seen += 1
        found, other, pair = _match_header(raw)
        score = len(found) + (1 if pair else 0)
        if "full_name" in found or pair is not None:
            header_number, columns, unknown, split, header_cells = number, found, other, pair, raw
            break
        best_score = max(best_score, score)
        if seen >= HEADER_SCAN_ROWS:
            break
    if not header_number:
        if best_score == 0:
            raise _FileProblem(NOT_A_ROSTER)
        raise _FileProblem(MISSING_COLUMNS, missing=["full_name"])
    missing = [name for name in REQUIRED if name not in columns
               and not (name == "full_name" and split is not None)]
    if not any(name in columns for name in ONE_OF):
        missing.append(EITHER_CATEGORY)
    if missing:
        raise _FileProblem(MISSING_COLUMNS, missing=missing)

    rows: list[RosterRow] = []
    problems: list[RowProblem] = []
    warnings: list[RowProblem] = []
    duplicates: list[tuple[int, int]] = []
    first_seen: dict[tuple[str, date | None], int] = {}
    empty = 0
    data_rows = 0
    for number, raw, _ in rows_iter:
        if _is_empty(raw):
            empty += 1
            if empty > max_rows + EXTRA_EMPTY_ROWS:
                raise _FileProblem(TOO_MANY_ROWS, str(max_rows))
            continue
        data_rows += 1
        if data_rows > max_rows:
            raise _FileProblem(TOO_MANY_ROWS, str(max_rows))
        row, row_problems, row_warnings = _read_row(number, raw, columns, split, today)
        warnings.extend(row_warnings)
        if row is None:
            problems.extend(row_problems)
            continue
        key = (fold(row.full_name), row.birth_date)
        if key in first_seen:
            duplicates.append((number, first_seen[key]))
            problems.append(RowProblem(number, "full_name", "duplicate", str(first_seen[key])))
            continue
        first_seen[key] = number
        rows.append(row)

    if data_rows == 0:
        raise _FileProblem(NO_ROWS)
    for ref, first_row in merged:
        if first_row >= header_number:  # a merged title above the header is harmless
            warnings.append(RowProblem(first_row, None, "merged_cells", ref))
    if unknown:
        warnings.append(RowProblem(header_number, None, "ignored_columns", ", ".join(unknown)))
    warnings.sort(key=lambda w: (w.row_number, w.reason_code))
    header_text = {name: _cell_text(header_cells[col]) for name, col in columns.items()}
    return RosterPreview(
        rows=rows,
        problems=problems,
        duplicates=duplicates,
        warnings=warnings,
        empty_rows=empty,
        columns=header_text,
        ignored_columns=unknown,
        source=source,
    )


# ----------------------------------------------------------------- messages


def describe_problem(problem: RowProblem, texts: Mapping[str, Any]) -> str:
    """"Dòng 7: thiếu họ tên", from the ``[roster]`` table of ``templates/bundle.toml``."""
    roster = texts["roster"]
    column = roster["columns"].get(problem.column, "") if problem.column else ""
    reason = roster["reasons"][problem.reason_code].format(detail=problem.detail, column=column)
    return roster["row_line"].format(row=problem.row_number, reason=reason)


def describe_file_problem(preview: RosterPreview, texts: Mapping[str, Any]) -> str | None:
    """The one sentence explaining why the whole file was refused, or None."""
    if preview.file_problem is None:
        return None
    roster = texts["roster"]
    columns = ", ".join(roster["columns"][name] for name in preview.missing_columns)
    return roster["file_problems"][preview.file_problem].format(
        detail=preview.file_detail, columns=columns
    )
