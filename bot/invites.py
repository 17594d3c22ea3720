"""One-time invite codes that bind a chat account to a roster member."""

from __future__ import annotations

import hashlib
import secrets

# No 0/O, 1/I/L: codes are read aloud and typed by hand.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 8


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def hash_code(code: str) -> str:
    """Only the hash is stored, so a leaked database does not leak usable invites."""
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()
