#!/usr/bin/env bash
# rdp-screenshot.sh HOST PORT USER PASS OUT.png [SECONDS]
#
# Connects Debian's xfreerdp (FreeRDP 2, package freerdp2-x11) to an RDP server inside a
# private Xvfb display at 1280x800, waits SECONDS (default 8), saves a PNG of the root window
# to OUT.png and stops everything it started (trap on exit: no xfreerdp or Xvfb left behind).
#
# Exit status: 0 with the PNG written; 1 if xfreerdp died before the screenshot (its log is
# printed to stderr); 2 on bad usage or missing tools (xvfb, freerdp2-x11, imagemagick).
#
# Environment:
#   RDP_SCREENSHOT_SIZE      session size (default 1280x800)
#   RDP_SCREENSHOT_SEC       xfreerdp /sec: value, e.g. tls or nla (default: negotiate)
#   RDP_SCREENSHOT_FILE      an .rdp connection file: xfreerdp reads it (it must be the first
#                            argument) and HOST and PORT are not passed, so the file's
#                            `full address` and gateway settings decide where it connects
#   RDP_SCREENSHOT_EXTRA     extra xfreerdp arguments, space separated
#   RDP_SCREENSHOT_LOG       keep xfreerdp's log at this path (default: a temp file, removed)
#   RDP_SCREENSHOT_XKB       X keyboard layout for the session, e.g. se (needs x11-xkb-utils)
#   RDP_SCREENSHOT_XDOTOOL   xdotool invocations separated by ';', run after the wait and before
#                            the screenshot (needs xdotool), e.g.
#                            "mousemove 100 155 click 1; key Tab; type Åsa; key space; type Öberg"
#                            (each part is split on blanks; coordinates are session pixels)
# The password goes to xfreerdp as /p: (FreeRDP masks it in its own argv after parsing).
set -euo pipefail

usage() {
    echo "usage: $0 HOST PORT USER PASS OUT.png [SECONDS]" >&2
    exit 2
}
if [ $# -lt 5 ] || [ $# -gt 6 ]; then usage; fi
host=$1 port=$2 user=$3 pass=$4 out=$5 wait_s=${6:-8}
size=${RDP_SCREENSHOT_SIZE:-1280x800}
case $wait_s in '' | *[!0-9]*) usage ;; esac
case $port in '' | *[!0-9]*) echo "$0: PORT must be a number, got '$port'" >&2; exit 2 ;; esac
[ -n "$host" ] || usage

for tool in Xvfb xfreerdp import; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "$0: $tool not found (apt-get install xvfb freerdp2-x11 imagemagick)" >&2
        exit 2
    fi
done

workdir=$(mktemp -d)
log=${RDP_SCREENSHOT_LOG:-$workdir/xfreerdp.log}
xvfb_pid=""
rdp_pid=""

stop() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 20); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    stop "$rdp_pid"
    stop "$xvfb_pid"
    rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free display: Xvfb picks one itself and writes its number to the given fd.
exec {dfd}>"$workdir/display"
Xvfb -displayfd "$dfd" -screen 0 "${size}x24" -nolisten tcp -noreset >"$workdir/xvfb.log" 2>&1 &
xvfb_pid=$!
exec {dfd}>&-
for _ in $(seq 1 300); do
    [ -s "$workdir/display" ] && break
    if ! kill -0 "$xvfb_pid" 2>/dev/null; then
        echo "$0: Xvfb failed to start:" >&2
        cat "$workdir/xvfb.log" >&2
        exit 1
    fi
    sleep 0.1
done
if [ ! -s "$workdir/display" ]; then
    echo "$0: Xvfb did not report a display" >&2
    exit 1
fi
DISPLAY=":$(head -n1 "$workdir/display")"
export DISPLAY
if [ -n "${RDP_SCREENSHOT_XKB:-}" ]; then
    setxkbmap "$RDP_SCREENSHOT_XKB"
fi

if [ -n "${RDP_SCREENSHOT_FILE:-}" ]; then
    args=("$RDP_SCREENSHOT_FILE")
else
    args=("/v:$host:$port")
fi
args+=("/u:$user" "/p:$pass" /cert:ignore "/size:$size" /bpp:32 -grab-keyboard /log-level:INFO)
[ -n "${RDP_SCREENSHOT_SEC:-}" ] && args+=("/sec:$RDP_SCREENSHOT_SEC")
# shellcheck disable=SC2206 # deliberate word splitting of the extra arguments
[ -n "${RDP_SCREENSHOT_EXTRA:-}" ] && args+=($RDP_SCREENSHOT_EXTRA)

xfreerdp "${args[@]}" </dev/null >"$log" 2>&1 &
rdp_pid=$!

for _ in $(seq 1 $((wait_s * 10))); do
    if ! kill -0 "$rdp_pid" 2>/dev/null; then
        status=0
        wait "$rdp_pid" || status=$?
        rdp_pid=""
        echo "$0: xfreerdp exited early (status $status); its log:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 0.1
done

if [ -n "${RDP_SCREENSHOT_XDOTOOL:-}" ]; then
    IFS=';' read -ra xdo_cmds <<<"$RDP_SCREENSHOT_XDOTOOL"
    for xdo in "${xdo_cmds[@]}"; do
        # shellcheck disable=SC2086 # deliberate word splitting into xdotool arguments
        xdotool $xdo
        sleep 0.2
    done
    sleep 1
    if ! kill -0 "$rdp_pid" 2>/dev/null; then
        echo "$0: xfreerdp exited during the xdotool actions; its log:" >&2
        cat "$log" >&2
        exit 1
    fi
fi

import -window root "$out"
echo "$0: wrote $out ($DISPLAY, $size)" >&2
