#!/usr/bin/env bash
# Set up and run skynet. With DISCORD_TOKEN set: a real Red bot (data in .skynet-data/) with the
# cog loaded. Without it: an offline console where you talk to the real cog as a server member.
source "$(dirname "$0")/_venv.sh"
exec .venv/bin/python -m skynet_dev.start "$@"
