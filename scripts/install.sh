#!/usr/bin/env bash
# Install sentinel's agent on Raspberry Pi OS (Bookworm), as docs/install.md describes; safe to run twice.
#
#   sudo bash scripts/install.sh HOME_ID          e.g.  sudo bash scripts/install.sh mary
#
# It installs the Debian packages (python3-lgpio, Mosquitto), a user `sentinel` in the gpio group, a
# virtual environment in /opt/sentinel that sees python3-lgpio, Mosquitto with passwords and an ACL
# (anonymous clients refused; a login for zigbee2mqtt too), /etc/sentinel/agent.yaml and circle.yaml from the
# examples (kept if they exist; both logged in to that Mosquitto), and the systemd units. Then it says what to do
# next. Nothing it made is overwritten on a second run, except the units and the package, which are brought up to
# date; Mosquitto's ACL and settings changed by hand are kept, with this version's beside them as FILE.new.
#
# SENTINEL_ROOT=DIR installs into DIR instead of / and leaves out what needs the real system (apt-get,
# useradd, systemctl): the tests use it. SENTINEL_MQTT_PORT sets Mosquitto's port (default 1883).
set -euo pipefail
home_id=${1:-}
if ! [[ "$home_id" =~ ^[a-z0-9][a-z0-9_-]{0,39}$ ]]; then
  echo "usage: sudo bash scripts/install.sh HOME_ID   (lower-case letters, digits, '-' or '_', e.g. mary)" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")/.." && pwd)
root=${SENTINEL_ROOT:-}
port=${SENTINEL_MQTT_PORT:-1883}
system=yes
[ -z "$root" ] || system=no
if [ "$system" = yes ] && [ "$(id -u)" -ne 0 ]; then
  echo "run it as root: sudo bash scripts/install.sh $home_id" >&2
  exit 2
fi
say() { printf '%s\n' "$*"; }

# 1. System packages and the service's user
if [ "$system" = yes ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-lgpio mosquitto mosquitto-clients >/dev/null
  id sentinel >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin --groups gpio sentinel
fi
for dir in opt etc/sentinel etc/mosquitto/conf.d etc/systemd/system; do mkdir -p "$root/$dir"; done

# 2. The package, in a venv that sees Debian's python3-lgpio
venv="$root/opt/sentinel"
[ -x "$venv/bin/python" ] || python3 -m venv --system-site-packages "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade "$src"

# 3. Mosquitto: passwords, an ACL, nobody anonymous, huge messages refused
passwords="$root/etc/mosquitto/sentinel.passwd"
acl="$root/etc/mosquitto/sentinel.acl"
env_file="$root/etc/sentinel/agent.env"
secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }
if [ ! -s "$env_file" ]; then
  agent_password=$(secret)
  (umask 077; printf 'SENTINEL_MQTT_PASSWORD=%s\n' "$agent_password" > "$env_file")
  touch "$passwords"
  mosquitto_passwd -b "$passwords" "sentinel-$home_id" "$agent_password"
  notifier_password=$(secret)
  mosquitto_passwd -b "$passwords" notifier "$notifier_password"
  (umask 077; printf 'SENTINEL_MQTT_PASSWORD=%s\n' "$notifier_password" > "$root/etc/sentinel/notifier-mqtt.env")
  chmod 600 "$passwords"
fi
# zigbee2mqtt logs in too (docs/install.md, "Zigbee sensors"): with anonymous clients refused, it could not.
z2m_login="$root/etc/sentinel/zigbee2mqtt-mqtt.txt"
touch "$passwords"
if ! grep -qs '^zigbee2mqtt:' "$passwords"; then
  z2m_password=$(secret)
  mosquitto_passwd -b "$passwords" zigbee2mqtt "$z2m_password"
  (umask 077; printf '# for zigbee2mqtt'"'"'s configuration.yaml\nmqtt:\n  user: zigbee2mqtt\n  password: %s\n' \
    "$z2m_password" > "$z2m_login")
fi
# Mosquitto 2.0 reads the file after it has dropped to its own user: root's alone, it would not start at all.
if [ "$(id -u)" -eq 0 ] && getent group mosquitto >/dev/null; then
  chown root:mosquitto "$passwords" && chmod 640 "$passwords"
fi
# FILE.new replaces FILE when FILE is as this script, or its version before (FILE.was), wrote it; else FILE has
# lines added by hand and is kept, with this version's beside it as FILE.new.
keep_or_new() {
  if [ ! -e "$1" ]; then mv "$1.new" "$1"
  elif cmp -s "$1.new" "$1"; then rm "$1.new"
  elif cmp -s "$1.was" "$1"; then mv "$1.new" "$1"; say "Updated $1 (as an earlier install.sh wrote it)."
  else say "Kept your $1; this version's is $1.new: compare them (diff $1 $1.new) and merge what you need."
  fi
  rm -f "$1.was"
}
cat > "$acl.new" <<EOF
# Written by scripts/install.sh (docs/mqtt.md, "Privacy and access control").
user sentinel-$home_id
topic readwrite sentinel/$home_id/#
topic read zigbee2mqtt/#
topic readwrite homeassistant/#

user notifier
topic read sentinel/+/availability
topic read sentinel/+/status
topic read sentinel/+/heartbeat
topic read sentinel/+/alert
topic read sentinel/+/notice
topic readwrite sentinel/+/alert/+/ack
# the resident's "I'm OK" from their phone becomes the agent's own command (circle.yaml: check_in); and the
# daily note asks for the status again just before it is written
topic write sentinel/+/cmd/ok
topic write sentinel/+/cmd/status

user zigbee2mqtt
topic readwrite zigbee2mqtt/#
topic readwrite homeassistant/#
EOF
head -n -4 "$acl.new" > "$acl.was"  # before, zigbee2mqtt had no login
keep_or_new "$acl"
conf="$root/etc/mosquitto/conf.d/sentinel.conf"
cat > "$conf.new" <<EOF
# Written by scripts/install.sh: clients log in, each sees only its own topics.
per_listener_settings false
listener $port
allow_anonymous false
password_file /etc/mosquitto/sentinel.passwd
acl_file /etc/mosquitto/sentinel.acl
# The whole message, topic and properties too (docs/install.md, step 1); zigbee2mqtt's list of devices fits.
max_packet_size 1048576
EOF
{ head -n -2 "$conf.new"; echo 'message_size_limit 65536'; } > "$conf.was"  # before, only the payload was limited
keep_or_new "$conf"

# 4. The agent's config, from the example (a carer's edits are never overwritten)
agent_yaml="$root/etc/sentinel/agent.yaml"
if [ ! -e "$agent_yaml" ]; then
  sed -e "s/^  id: mary$/  id: $home_id/" \
      -e "s/^  # username: sentinel-mary$/  username: sentinel-$home_id/" \
      -e "s/^  # password_env: SENTINEL_MQTT_PASSWORD$/  password_env: SENTINEL_MQTT_PASSWORD/" \
      -e "s/^  port: 1883$/  port: $port/" \
      "$src/configs/example.yaml" > "$agent_yaml"
fi

# The notifier's, from the example, logged in as `notifier` (its password is in notifier-mqtt.env, which its
# service reads): without the login the broker refuses it, and no alert reaches a phone.
circle_yaml="$root/etc/sentinel/circle.yaml"
if [ ! -e "$circle_yaml" ]; then
  sed -e "s/^  # username: notifier$/  username: notifier/" \
      -e "s/^  # password_env: SENTINEL_MQTT_PASSWORD$/  password_env: SENTINEL_MQTT_PASSWORD/" \
      -e "s/^  port: 1883$/  port: $port/" \
      "$src/configs/circle.example.yaml" > "$circle_yaml"
fi

# 5. The services
cp "$src/systemd/sentinel-agent.service" "$src/systemd/sentinel-notify.service" "$root/etc/systemd/system/"
if [ "$system" = yes ]; then
  chown root:root "$root/etc/sentinel/agent.env" && chmod 600 "$root/etc/sentinel/agent.env"  # systemd reads it as root
  systemctl daemon-reload
  systemctl restart mosquitto
fi

say "sentinel $("$venv/bin/sentinel" --version | cut -d' ' -f2) is installed for home '$home_id'."
say "Next:"
say "  1. Edit $agent_yaml: the resident's name and the sensors' pins (docs/install.md)."
say "  2. Check it:   sudo sh -c 'set -a; . /etc/sentinel/agent.env; /opt/sentinel/bin/sentinel check-config /etc/sentinel/agent.yaml'"
say "  3. Start it:   sudo systemctl enable --now sentinel-agent"
say "  The notifier: edit /etc/sentinel/circle.yaml (docs/circle.md), then see docs/install.md, 'The notifier';"
say "  its broker password is in /etc/sentinel/notifier-mqtt.env, which its service reads."
say "  zigbee2mqtt, if you use it: its broker login is in /etc/sentinel/zigbee2mqtt-mqtt.txt (docs/install.md)."
