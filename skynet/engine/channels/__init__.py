"""The channel assistant, Discord-free: summaries (``ai tldr``), scheduled prompts and reminders,
answer threads, auto-answers from the server's documents, and members' own provider keys."""
