"""Names Discord refuses for a webhook's username, checked when a persona's name is set.

Discord answers a webhook execute whose ``username`` breaks its rules with ``400 Invalid Form
Body``: it may not contain "clyde" or "discord" (any case), be "everyone" or "here", contain "@",
"#", ":" or "```", or be outside 1-80 characters. Checking at create, edit and card import means
a member never meets a persona whose replies cannot be delivered.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Optional

from ..i18n import _

MAX_WEBHOOK_NAME = 80
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
_FORBIDDEN_WORDS = ("discord", "clyde")
_FORBIDDEN_NAMES = ("everyone", "here")
_FORBIDDEN_PARTS = ("@", "#", ":", "```")


def refusal(name: Optional[str]) -> Optional[str]:
    """Why Discord would refuse ``name`` as a webhook username (translated), or None."""
    if name is None:
        return None
    folded = _INVISIBLE.sub("", unicodedata.normalize("NFKC", name)).casefold().strip()
    if not folded or len(name.strip()) > MAX_WEBHOOK_NAME:
        return _("A persona's display name is 1 to {limit} characters.").format(limit=MAX_WEBHOOK_NAME)
    for word in _FORBIDDEN_WORDS:
        if word in folded:
            return _(
                "Discord refuses names containing “{word}” for messages sent under a persona's name; "
                "choose another display name."
            ).format(word=word)
    if folded in _FORBIDDEN_NAMES:
        return _("Discord refuses “{name}” as a name; choose another display name.").format(name=name.strip())
    for part in _FORBIDDEN_PARTS:
        if part in name:
            return _("Discord refuses names containing `{part}`; choose another display name.").format(part=part)
    return None


__all__ = ["refusal", "MAX_WEBHOOK_NAME"]
