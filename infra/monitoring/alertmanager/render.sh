#!/bin/sh
# Writes Alertmanager's running configuration from the committed one, filling in what must not be
# committed, then runs the given command (Alertmanager itself in the compose stack):
#   DISCORD_WEBHOOK_URL       the Discord channel webhook for pages (or DISCORD_WEBHOOK_URL_FILE: a file
#                             holding it, e.g. a Docker secret)
#   ALERT_EMAIL_TO            who receives the e-mail (default: ops@hunch.invalid, caught by Mailpit)
#   ALERTMANAGER_TEMPLATE     the committed configuration (default /etc/alertmanager/alertmanager.yml)
#   ALERTMANAGER_CONFIG       where to write the result (default /tmp/alertmanager.yml)
# POSIX sh only: the Alertmanager image is busybox.
set -eu

template="${ALERTMANAGER_TEMPLATE:-/etc/alertmanager/alertmanager.yml}"
config="${ALERTMANAGER_CONFIG:-/tmp/alertmanager.yml}"

webhook="${DISCORD_WEBHOOK_URL:-}"
if [ -z "$webhook" ] && [ -n "${DISCORD_WEBHOOK_URL_FILE:-}" ]; then
    webhook="$(cat "$DISCORD_WEBHOOK_URL_FILE")"
fi
if [ -z "$webhook" ]; then
    echo "render.sh: DISCORD_WEBHOOK_URL is not set: pages go to e-mail only (Discord notifications fail)" >&2
    webhook="https://discord-webhook-url.invalid/replaced-at-start"
fi
email="${ALERT_EMAIL_TO:-ops@hunch.invalid}"

# Escape what sed's replacement treats specially (\, & and the | delimiter).
escape() { printf '%s' "$1" | sed -e 's/[\\&|]/\\&/g'; }

umask 077 # the result holds the webhook URL, which is a credential
sed -e "s|https://discord-webhook-url.invalid/replaced-at-start|$(escape "$webhook")|" \
    -e "s|alert-email-to@hunch.invalid|$(escape "$email")|" \
    "$template" >"$config"

exec "$@"
