"""Media: drawing images (:mod:`.images`), voice in and out (:mod:`.audio`), reasoning models
(:mod:`.reasoning`), and what they cost (:mod:`.budget`). Discord-free, like the rest of the engine."""
