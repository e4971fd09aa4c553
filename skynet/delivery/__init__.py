"""Discord-facing helpers: streaming replies, pacing and message splitting."""
