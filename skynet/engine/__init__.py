"""The Discord-free engine of skynet.

Everything under this package takes plain data and yields plain events. It never imports
``discord`` or ``redbot`` (``tests/test_layering.py`` enforces this), so it is unit-testable
without Discord and cheap on the hot path.
"""
