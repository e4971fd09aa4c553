# Sourced by _venv.sh: the panel's browser tests drive Debian's Chromium with Playwright (whose own
# browser download is not used). As root on a Debian/Ubuntu machine without it (CI), install it once;
# otherwise say nothing: the browser tests then skip, saying why. SKYNET_NO_CHROMIUM=1 skips this.
if [ -z "${SKYNET_NO_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] \
    && command -v apt-get >/dev/null 2>&1; then
    echo "Installing chromium for the web panel's browser tests (apt-get)..." >&2
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/tmp/skynet-chromium.log 2>&1; then
        echo "Could not install chromium (see /tmp/skynet-chromium.log); the browser tests will be skipped." >&2
    fi
fi
