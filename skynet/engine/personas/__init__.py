"""Personas, members' own instructions, prompt variables and character cards (no Discord here)."""

from .personas import (
    BUILTIN_PERSONAS,
    MAX_MYPROMPT_CHARS,
    MAX_PERSONA_PROMPT_CHARS,
    MAX_PERSONAS_PER_SERVER,
    Persona,
    compose_system_prompt,
)
from .variables import render

__all__ = [
    "BUILTIN_PERSONAS",
    "MAX_MYPROMPT_CHARS",
    "MAX_PERSONA_PROMPT_CHARS",
    "MAX_PERSONAS_PER_SERVER",
    "Persona",
    "compose_system_prompt",
    "render",
]
