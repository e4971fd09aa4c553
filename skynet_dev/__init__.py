"""Development and test helpers for the skynet cog (not shipped with the cog)."""
