"""Signed list pages: central signs every ``/changes`` response with its root key; devices verify.

The envelope (JSON)::

    {"format": "gatepass-signed/1", "alg": "Ed25519", "kid": "<8 hex>",
     "body": "<the page as canonical JSON text>",   # the exact bytes signed (UTF-8)
     "sig": "<base64 Ed25519 signature over body>"}

The page inside is the ``sync.lists`` page format plus ``valid_until`` (unix s).
Signing the text, not a re-serialisation, keeps verification independent of
JSON libraries. The device pins central's public key (``central_public_key``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync.errors import SyncError
from sync.protocol import canonical

log = logging.getLogger(__name__)

FORMAT = "gatepass-signed/1"
PAGE_VALID_S = 24 * 3600.0
MAX_ENVELOPE_BYTES = 16 * 1024 * 1024


class SignatureError(SyncError):
    """A signed page is malformed, signed by another key, or tampered with."""


def kid_of(public: Ed25519PublicKey) -> str:
    """Short id of a public key: the first 4 bytes of SHA-256 of its raw form, hex."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:4].hex()


def load_public_key(text_or_path: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM text or from the path of a PEM file."""
    text = text_or_path.strip()
    if "-----BEGIN" not in text:
        try:
            text = Path(text).read_text()
        except (OSError, ValueError, UnicodeDecodeError) as exc:  # ValueError: a NUL byte in the "path"
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise SignatureError(f"central_public_key: cannot read {text_or_path[:80]!r}: {reason}",
                                 "give the PEM text or the path of the PEM file") from None
    try:
        key = serialization.load_pem_public_key(text.encode())
    except ValueError as exc:
        raise SignatureError(f"central_public_key is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureError("central_public_key is not an Ed25519 key")
    return key


def sign_page(key: Ed25519PrivateKey, page: dict[str, Any], valid_s: float = PAGE_VALID_S,
              now: float | None = None) -> dict[str, Any]:
    """Wrap ``page`` in a signed envelope, stamping ``issued_at`` and ``valid_until``."""
    now = time.time() if now is None else now
    page = {**page, "issued_at": now, "valid_until": now + valid_s}
    body = canonical(page).decode()
    sig = key.sign(body.encode())
    return {"format": FORMAT, "alg": "Ed25519", "kid": kid_of(key.public_key()), "body": body,
            "sig": base64.b64encode(sig).decode()}


def verify_envelope(public: Ed25519PublicKey, envelope: Any) -> dict[str, Any]:
    """The page inside a signed envelope; raises :class:`SignatureError` unless it verifies."""
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT or envelope.get("alg") != "Ed25519":
        raise SignatureError("not a gatepass-signed/1 Ed25519 envelope")
    body, sig = envelope.get("body"), envelope.get("sig")
    if not isinstance(body, str) or not isinstance(sig, str) or len(body) > MAX_ENVELOPE_BYTES:
        raise SignatureError("signed envelope lacks its body or signature")
    try:
        public.verify(base64.b64decode(sig, validate=True), body.encode())
    except (InvalidSignature, binascii.Error, ValueError):
        raise SignatureError("list page signature does not verify (wrong key or tampered)") from None
    try:
        page = json.loads(body)
    except ValueError as exc:  # signed but unreadable: central is broken
        raise SignatureError(f"signed body is not JSON: {exc}") from None
    if not isinstance(page, dict):
        raise SignatureError("signed body is not an object")
    for name in ("version", "issued_at", "valid_until"):
        value = page.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise SignatureError(f"signed page lacks a numeric {name!r}")
    return page
