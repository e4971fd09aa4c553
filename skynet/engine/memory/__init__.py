"""Memory: conversation windows (persisted, pruned, compacted) and long-term memory in chromadb.

Modules: ``windows`` (sliding windows and pruning), ``persistence`` (write-behind file),
``compaction`` (rolling summaries), ``vector`` (chromadb), ``embeddings`` (provider embeddings),
``recall`` (scoped retrieval within a token budget), ``documents`` (chunking for retrieval),
``service`` (the facade the engine and commands use), ``tool`` (the model's ``remember`` tool).
Only ``windows`` is imported eagerly: chromadb is imported at first use.
"""

from .windows import ASSISTANT, USER, ConversationMemory, Summary, Turn, WindowPolicy

__all__ = ["ASSISTANT", "USER", "ConversationMemory", "Summary", "Turn", "WindowPolicy"]
