#!/bin/sh
# vmutils guest reporter: writes the guest's view of the agent to the
# serial console as framed blocks that vm-wait-ready reads (format in
# lib/diagnose/reporter.hpp of vmutils). Installed by `agent-inject
# --reporter`; started early by vmutils-reporter.service.
#
# Every INTERVAL seconds until something listens on PORT (and once after),
# it collects: the LISTEN sockets of /proc/net/tcp{,6} (raw), each
# interface's state, the local IPv4 addresses and the routes (raw, decoded
# by the host), systemd-networkd's view of each link, the watched units'
# state (systemctl show) and the failed units. A block is written when it
# changed, or every HEARTBEAT rounds, so a stuck guest does not flood its
# console. POSIX sh with its builtins only, plus sleep and systemctl.
#
# Environment (set by the unit): VMU_REPORT_PORT (8080), VMU_REPORT_UNITS
# (space-separated unit names), VMU_REPORT_OUT (/dev/console),
# VMU_REPORT_INTERVAL (2), VMU_REPORT_HEARTBEAT (10), VMU_REPORT_ROUNDS
# (900, then it stops), VMU_REPORT_ROOT (tests only: a fake / for /proc,
# /sys and /run).

port=${VMU_REPORT_PORT:-8080}
units=${VMU_REPORT_UNITS:-}
out=${VMU_REPORT_OUT:-/dev/console}
interval=${VMU_REPORT_INTERVAL:-2}
heartbeat=${VMU_REPORT_HEARTBEAT:-10}
rounds=${VMU_REPORT_ROUNDS:-900}
root=${VMU_REPORT_ROOT:-}

case "$port" in ''|*[!0-9]*) port=8080 ;; esac
phex=$(printf '%04X' "$port")
nl='
'

# The facts, one per line, into $body.
collect() {
    body=''
    listening=0
    for f in "$root/proc/net/tcp" "$root/proc/net/tcp6"; do
        [ -r "$f" ] || continue
        while read -r _ local _ st _; do
            [ "$st" = 0A ] || continue
            body="$body${nl}listen $local"
            case "$local" in *:"$phex") listening=1 ;; esac
        done < "$f"
    done
    for d in "$root"/sys/class/net/*; do
        [ -d "$d" ] || continue
        n=${d##*/}
        st=-; ca=-; mac=-; idx=
        { read -r st < "$d/operstate"; } 2>/dev/null
        { read -r ca < "$d/carrier"; } 2>/dev/null
        { read -r mac < "$d/address"; } 2>/dev/null
        { read -r idx < "$d/ifindex"; } 2>/dev/null
        body="$body${nl}if $n ${st:--} ${ca:--} ${mac:--}"
        links="$root/run/systemd/netif/links/$idx"
        if [ -n "$idx" ] && [ -r "$links" ]; then
            admin=-; oper=-
            while IFS='=' read -r k v; do
                case "$k" in
                    ADMIN_STATE) admin=$v ;;
                    OPER_STATE) oper=$v ;;
                esac
            done < "$links"
            body="$body${nl}networkd $n $admin $oper"
        fi
    done
    if [ -r "$root/proc/net/fib_trie" ]; then
        last=
        while read -r a b c _; do
            case "$a" in
                '|--') last=$b ;;
                /32) [ "$c" = LOCAL ] && [ -n "$last" ] && body="$body${nl}local $last" ;;
            esac
        done < "$root/proc/net/fib_trie"
    fi
    if [ -r "$root/proc/net/route" ]; then
        while read -r i d _ _ _ _ _ m _; do
            [ "$i" = Iface ] && continue
            body="$body${nl}route $i $d $m"
        done < "$root/proc/net/route"
    fi
    # One systemctl call for every unit: blocks in argument order, blank-line separated.
    set -- $units
    if [ $# -gt 0 ]; then
        props=$(systemctl show -p Id,LoadState,ActiveState,SubState,Result,NRestarts,ExecMainCode,ExecMainStatus,UnitFileState -- "$@" 2>/dev/null)
        u=$1
        while IFS= read -r kv; do
            if [ -z "$kv" ]; then
                [ $# -gt 0 ] && shift
                u=${1:-}
                continue
            fi
            [ -n "$u" ] && body="$body${nl}unit $u $kv"
        done <<PROPS
$props
PROPS
    fi
    failed=$(systemctl list-units --state=failed --plain --no-legend --no-pager 2>/dev/null)
    while read -r w1 w2 _; do
        [ "$w1" = "●" ] && w1=$w2
        [ -n "$w1" ] && body="$body${nl}failed $w1"
    done <<FAILED
$failed
FAILED
}

# Frames $body as block $seq and writes it in one go.
emit() {
    up=0
    { read -r up _ < "$root/proc/uptime"; } 2>/dev/null
    list=''
    for u in $units; do list="${list:+$list,}$u"; done
    text="begin v=1 port=$port uptime=$up units=$list$body"
    block=''
    n=0
    while IFS= read -r l; do
        [ -n "$l" ] || continue
        block="$block""vmu-report:$seq:$n:${#l}:$l$nl"
        n=$((n + 1))
    done <<TEXT
$text
TEXT
    l="end $((n + 1))"
    block="$block""vmu-report:$seq:$n:${#l}:$l$nl"
    printf '%s' "$block" > "$out" 2>/dev/null
}

seq=0
prev=''
since=0
after=0
round=0
while [ "$round" -lt "$rounds" ]; do
    round=$((round + 1))
    collect
    if [ "$body" != "$prev" ] || [ "$since" -ge "$heartbeat" ] || [ "$listening" = 1 ]; then
        seq=$((seq + 1))
        emit
        prev=$body
        since=0
    else
        since=$((since + 1))
    fi
    if [ "$listening" = 1 ]; then
        after=$((after + 1))
        [ "$after" -ge 2 ] && exit 0
    fi
    [ -n "${VMU_REPORT_ONCE:-}" ] && exit 0
    sleep "$interval"
done
exit 0
