"""Tools: the registry, the function-calling loop, the URL guard, built-in tools and search backends.

Discord-free like the rest of the engine; the ``tools`` mixin is the thin shell over it.
"""
