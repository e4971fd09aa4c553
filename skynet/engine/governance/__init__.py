"""Governance: who may use the assistant, how much, how often, with which tools, and when it
answers on its own. Plain data in, decisions out; every clock is injectable so tests never sleep.

- :mod:`.listening`: "should I answer this message?" (modes, keywords, cooldowns, channel lists)
- :mod:`.budgets`: daily budgets in tokens or USD with reservations
- :mod:`.buckets`: token-bucket rate limits
- :mod:`.policy`: tool allow/deny by member, role, channel and server
- :mod:`.governor`: admission of one request (rate limits + budgets) as a :class:`Ticket`
- :mod:`.rules`: a server's stored settings parsed into the rule objects above
"""
