"""Command and listener mixins, one per area, assembled in :mod:`skynet.cog`."""
