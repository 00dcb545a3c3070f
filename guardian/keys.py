"""The shape of an API key and how it is hashed.

A key reads ``lk-<public_id>_<secret>``: ``lk-<public_id>`` is its prefix,
safe to show and used to find the row; the secret is 32 random bytes. Keys
are high-entropy, so a keyed SHA-256 (HMAC with a server pepper) is enough —
a slow password hash would only make every request slower.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from django.conf import settings

from guardian.models import KEY_PREFIX

PUBLIC_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read aloud safely
PUBLIC_ID_LENGTH = 12
_KEY_SHAPE = re.compile(
    rf"^{KEY_PREFIX}(?P<public_id>[a-z0-9]{{{PUBLIC_ID_LENGTH}}})_(?P<secret>[A-Za-z0-9_-]{{32,128}})$"
)

_pepper_cache: tuple[str, bytes] | None = None


@dataclass(frozen=True, slots=True)
class ParsedKey:
    public_id: str
    plaintext: str

    @property
    def prefix(self) -> str:
        return f"{KEY_PREFIX}{self.public_id}"


def pepper() -> bytes:
    """The server-side secret mixed into every key hash."""
    global _pepper_cache
    source = settings.GUARDIAN_KEY_PEPPER or settings.SECRET_KEY
    if _pepper_cache is None or _pepper_cache[0] != source:
        derived = hashlib.sha256(b"lukhas.guardian.key-pepper\x00" + source.encode()).digest()
        _pepper_cache = (source, derived)
    return _pepper_cache[1]


def hash_key(plaintext: str) -> str:
    return hmac.new(pepper(), plaintext.encode(), hashlib.sha256).hexdigest()


def hashes_match(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def generate_key() -> ParsedKey:
    public_id = "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))
    return ParsedKey(public_id, f"{KEY_PREFIX}{public_id}_{secrets.token_urlsafe(32)}")


def parse_key(candidate: str) -> ParsedKey | None:
    """None unless ``candidate`` has the shape of one of our keys."""
    match = _KEY_SHAPE.match(candidate)
    if match is None:
        return None
    return ParsedKey(match["public_id"], candidate)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    return token or None
