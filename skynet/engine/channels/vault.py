"""Members' own provider keys, encrypted at rest.

Keys are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under one
vault key that lives in Red's shared API tokens, never in Config; Config holds only the tokens.
A key is decrypted when a request needs it and is never rendered: :class:`OwnKey` prints as
``OwnKey(endpoint, ****)`` so it can't reach a log line or an error by ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from ..errors import InvalidValue
from ..i18n import _

VAULT_SERVICE = "skynet_vault"  # Red shared-token service holding the vault key
VAULT_FIELD = "key"
MIN_KEY_CHARS = 8
MAX_KEY_CHARS = 400


def new_vault_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


@dataclass(frozen=True)
class OwnKey:
    """A member's key for one endpoint, in clear, only in memory for a request."""

    endpoint: str
    secret: str = field(repr=False)

    def __repr__(self) -> str:
        return f"OwnKey({self.endpoint!r}, ****)"

    __str__ = __repr__


def check_key_text(text: str) -> str:
    key = text.strip()
    if not (MIN_KEY_CHARS <= len(key) <= MAX_KEY_CHARS) or any(c.isspace() for c in key) or not key.isprintable():
        raise InvalidValue(_("That doesn't look like an API key: one word, without spaces."))
    return key


class KeyVault:
    """Encrypts and decrypts members' keys with the vault key."""

    def __init__(self, vault_key: str) -> None:
        from cryptography.fernet import Fernet  # imported on use: only own keys need it

        self._fernet = Fernet(vault_key.encode())

    def seal(self, key: str) -> str:
        return self._fernet.encrypt(key.encode()).decode()

    def open(self, token: str) -> Optional[str]:
        """The key in clear, or None if ``token`` was sealed with another vault key (the owner
        replaced it) or was tampered with."""
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token.encode()).decode()
        except (InvalidToken, ValueError):
            return None


@dataclass(frozen=True)
class StoredKey:
    """What Config keeps for a member: the sealed key and facts safe to show."""

    endpoint: str
    token: str = field(repr=False)
    added: float = 0.0
    failing: bool = False

    def to_json(self) -> Dict[str, Any]:
        return {"endpoint": self.endpoint, "token": self.token, "added": self.added, "failing": self.failing}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> Optional["StoredKey"]:
        if not data or not data.get("token"):
            return None
        return cls(str(data.get("endpoint", "")), str(data["token"]), float(data.get("added", 0.0)),
                   bool(data.get("failing", False)))

    def public(self) -> Dict[str, Any]:
        """For data exports and status: never the key, sealed or not."""
        return {"endpoint": self.endpoint, "added": self.added, "failing": self.failing}
