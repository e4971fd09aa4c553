"""The documents and questions of bench/autoanswer.py.

One server guide (markdown, split by the cog's own document parser) and two sets of questions a
member might type in #help: ``TUNING`` (used to choose the default threshold) and ``HELD_OUT``
(written separately, never used for tuning; the reported figures). Each question names the section
that answers it, or None when the guide does not answer it. Negatives include near misses: the
same topics, but something the guide does not say.
"""

GUIDE = """# Blockhaven server guide

## Joining
The server address is play.blockhaven.net on the default port 25565. We run Java Edition 1.20.4;
Bedrock players can join through Geyser on port 19132. You need to be on the whitelist first.

## Whitelist
To get whitelisted, post your Minecraft username in the #whitelist channel and a moderator adds
you within 24 hours. If you changed your username, post the new one and we update the list.

## Rules
No griefing, no stealing from chests that are not yours, no hacked clients or x-ray texture packs.
Keep chat friendly and in English in the main channels. Breaking a rule gets a warning, then a
temporary ban.

## Land claims
Claim land with a golden shovel: right-click two opposite corners. New players get 2,000 claim
blocks and earn 100 more per hour played. Use /trust <player> to let a friend build in your claim
and /abandonclaim to remove it.

## Economy
The currency is the diamond coin. Sell items at the spawn market with /sell hand, check your
balance with /balance and pay another player with /pay <player> <amount>. Shops in player towns
set their own prices.

## Ranks
Ranks go Settler, Citizen, Builder, Veteran. You rank up automatically with playtime: Citizen after
10 hours, Builder after 50 hours and Veteran after 200 hours. Check your playtime with /playtime.

## Donations
Donations pay for the hosting and are optional. Donors get a cosmetic particle trail and a coloured
name in chat, never items or gameplay advantages. Donate on the store page at store.blockhaven.net.

## Bans and appeals
If you were banned, appeal by filling in the form in #ban-appeals. Appeals are read by two
moderators and answered within three days. Permanent bans for cheating cannot be appealed.

## Reporting players
Report griefing or harassment with /report <player> <reason> in game, or open a ticket in
#support with screenshots. Do not fight back or grief them in return.

## Server restarts and backups
The server restarts every day at 05:00 UTC and takes about two minutes. The world is backed up
every six hours; if your build was griefed, staff can roll back the area from the latest backup.

## Voice chat
We use the Simple Voice Chat mod: install it client-side (version 2.5) and press V to open its
settings. Proximity chat works within 48 blocks. Group chats are created with the G key.

## Events
Build contests run on the first weekend of every month and the winner gets the Architect title.
PvP tournaments happen in the arena on Saturdays at 20:00 UTC.

## Allowed mods
Client mods that only change visuals or performance are allowed: OptiFine, Sodium, Iris, minimaps
without cave or entity radar. Anything that gives an advantage, such as auto-clickers or x-ray, is
forbidden.
"""

# (question, section that answers it or None)
TUNING = [
    ("What's the server IP?", "Blockhaven server guide › Joining"),
    ("how do i get on the whitelist", "Blockhaven server guide › Whitelist"),
    ("Can I use x-ray texture packs?", "Blockhaven server guide › Rules"),
    ("How do I claim land?", "Blockhaven server guide › Land claims"),
    ("How can I let my friend build on my claim?", "Blockhaven server guide › Land claims"),
    ("how do I sell stuff?", "Blockhaven server guide › Economy"),
    ("When do I become a Builder?", "Blockhaven server guide › Ranks"),
    ("What do donors get?", "Blockhaven server guide › Donations"),
    ("I got banned, how do I appeal?", "Blockhaven server guide › Bans and appeals"),
    ("How do I report a griefer?", "Blockhaven server guide › Reporting players"),
    ("When does the server restart?", "Blockhaven server guide › Server restarts and backups"),
    ("How do I set up voice chat?", "Blockhaven server guide › Voice chat"),
    ("When is the next build contest?", "Blockhaven server guide › Events"),
    ("Is Sodium allowed?", "Blockhaven server guide › Allowed mods"),
    ("Can bedrock players join?", "Blockhaven server guide › Joining"),
    ("What version is the server on?", "Blockhaven server guide › Joining"),
    ("how many claim blocks do new players get?", "Blockhaven server guide › Land claims"),
    ("How often are backups made?", "Blockhaven server guide › Server restarts and backups"),
    ("What's everyone building today?", None),
    ("Does anyone want to go mining tonight?", None),
    ("Is there a modded server too?", None),
    ("How do I tame a horse?", None),
    ("what's the best enchantment for a sword?", None),
    ("Who won the football match yesterday?", None),
    ("Can I become a moderator?", None),
    ("Is the server down right now?", None),
    ("How much RAM does the server have?", None),
    ("Where is the nether portal at spawn?", None),
    ("Can I transfer my claim to another player?", None),
    ("Do you have a Discord bot for stats?", None),
]

HELD_OUT = [
    # answerable (the guide says it)
    ("what's the address to connect", "Blockhaven server guide › Joining"),
    ("Which port do Bedrock players use?", "Blockhaven server guide › Joining"),
    ("Which Minecraft version do I need?", "Blockhaven server guide › Joining"),
    ("How long does it take to get whitelisted?", "Blockhaven server guide › Whitelist"),
    ("I changed my Minecraft name, what do I do for the whitelist?", "Blockhaven server guide › Whitelist"),
    ("where do I post my username to join?", "Blockhaven server guide › Whitelist"),
    ("Is griefing allowed?", "Blockhaven server guide › Rules"),
    ("What happens if I break a rule?", "Blockhaven server guide › Rules"),
    ("Can I take items from other people's chests?", "Blockhaven server guide › Rules"),
    ("What language should we use in chat?", "Blockhaven server guide › Rules"),
    ("How do I protect my base from griefers?", "Blockhaven server guide › Land claims"),
    ("How do I remove a claim?", "Blockhaven server guide › Land claims"),
    ("How do I get more claim blocks?", "Blockhaven server guide › Land claims"),
    ("what tool do I use to claim land?", "Blockhaven server guide › Land claims"),
    ("How do I trust someone in my claim?", "Blockhaven server guide › Land claims"),
    ("How do I check my money?", "Blockhaven server guide › Economy"),
    ("How do I pay another player?", "Blockhaven server guide › Economy"),
    ("What is the currency on the server?", "Blockhaven server guide › Economy"),
    ("where can I sell my items?", "Blockhaven server guide › Economy"),
    ("What are the ranks?", "Blockhaven server guide › Ranks"),
    ("How many hours until Veteran?", "Blockhaven server guide › Ranks"),
    ("How do I see my playtime?", "Blockhaven server guide › Ranks"),
    ("how do I rank up?", "Blockhaven server guide › Ranks"),
    ("Do donations give items?", "Blockhaven server guide › Donations"),
    ("Where can I donate to the server?", "Blockhaven server guide › Donations"),
    ("Are donations pay to win?", "Blockhaven server guide › Donations"),
    ("How long do ban appeals take?", "Blockhaven server guide › Bans and appeals"),
    ("Can a cheating ban be appealed?", "Blockhaven server guide › Bans and appeals"),
    ("Where is the ban appeal form?", "Blockhaven server guide › Bans and appeals"),
    ("Someone is harassing me in game, what should I do?", "Blockhaven server guide › Reporting players"),
    ("What's the command to report a player?", "Blockhaven server guide › Reporting players"),
    ("someone griefed my house, can staff roll it back?", "Blockhaven server guide › Server restarts and backups"),
    ("What time is the daily restart?", "Blockhaven server guide › Server restarts and backups"),
    ("How long is the server down during the restart?", "Blockhaven server guide › Server restarts and backups"),
    ("Which voice chat mod do you use?", "Blockhaven server guide › Voice chat"),
    ("How far does proximity chat reach?", "Blockhaven server guide › Voice chat"),
    ("How do I make a group voice chat?", "Blockhaven server guide › Voice chat"),
    ("When are the PvP tournaments?", "Blockhaven server guide › Events"),
    ("What does the build contest winner get?", "Blockhaven server guide › Events"),
    ("Can I use OptiFine?", "Blockhaven server guide › Allowed mods"),
    ("Are minimaps allowed?", "Blockhaven server guide › Allowed mods"),
    ("Is an auto-clicker allowed?", "Blockhaven server guide › Allowed mods"),
    ("Can I use Iris shaders on the server?", "Blockhaven server guide › Allowed mods"),
    # not answered by the guide
    ("Anyone up for a nether trip?", None),
    ("How do I build an iron farm?", None),
    ("What's the best seed for speedrunning?", None),
    ("Does anyone know a good Minecraft YouTuber?", None),
    ("How do I install Fabric?", None),
    ("Why is my game lagging on my laptop?", None),
    ("Can I get a refund for my donation?", None),
    ("Who is the server owner?", None),
    ("How many players are online?", None),
    ("Can I bring my friends from another server?", None),
    ("Is there a creative world?", None),
    ("How do I make a town?", None),
    ("Will there be a Halloween event?", None),
    ("Can I sell my account?", None),
    ("What's the max render distance?", None),
    ("How do I change my skin?", None),
    ("Are there any staff applications open?", None),
    ("How do I breed villagers?", None),
    ("Where is the end portal?", None),
    ("Can I stream on the server?", None),
    ("How do I find diamonds quickly?", None),
    ("What's for dinner?", None),
    ("Is the map available online?", None),
    ("Can I have two accounts?", None),
    ("How old do I need to be to play here?", None),
    ("How do I add a friend on Xbox?", None),
    ("does the server have mcMMO?", None),
    ("How do I get the elytra?", None),
]
