"""The Red boundary: Config registration and migrations, and the stores that keep settings, usage, governance and personas."""
