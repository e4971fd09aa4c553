"""Privacy and safety (issue 15): consent, moderation, the audit log, server facts and Red's data
API through the data map. See docs/privacy.md."""
