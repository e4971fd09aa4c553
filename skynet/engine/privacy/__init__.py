"""Privacy and safety by construction (issue 15): the data map, the storing gate, consent,
moderation, blocked words and the audit log. Discord-free; see docs/privacy.md."""

from .consent import ConsentState
from .datamap import DataMap, ForgetIncomplete
from .gate import Decision, StoringGate

__all__ = ["DataMap", "ForgetIncomplete", "Decision", "StoringGate", "ConsentState"]
