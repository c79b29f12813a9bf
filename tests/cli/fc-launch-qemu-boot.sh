#!/usr/bin/env bash
# A real boot through the QEMU backend (TCG here, KVM where it works), in a
# throwaway network namespace with the dnsmasq of DESIGN.md: the guest kit's
# golden is cloned, the example agent injected with a SESSION_ID, and
# fc-launch --vmm qemu boots it. From inside the namespace GET /health must
# answer 200; the console log must hold the whole boot from the first kernel
# line; after the VMM is killed by the record's pid the log is still there
# and the rootfs lock is free again.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd qemu-system-x86_64
need_cmd dnsmasq
need_cmd curl
src=${VMU_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}

# The guest kit: $VMUTILS_GUEST_KIT, else the build tree's (built if missing
# and we can: root, network for the Debian packages).
kit=${VMUTILS_GUEST_KIT:-$src/build/guest-kit}
kit_ok() { for f in vmlinux initrd.img rootfs.ext4 agent/vm-agent agent/vm-agent.service; do [ -s "$kit/$f" ] || return 1; done; }
if ! kit_ok; then
  [ -x "$src/scripts/build-guest-kit" ] || skip "no guest kit at $kit and no scripts/build-guest-kit"
  echo "building the guest kit into $kit (scripts/build-guest-kit)" >&2
  "$src/scripts/build-guest-kit" --out "$kit" >&2 || skip "no guest kit at $kit and building it failed"
  kit_ok || skip "scripts/build-guest-kit did not produce a full kit in $kit"
fi

make_netns
chmod 755 "$T"  # dnsmasq drops privileges and must read the hosts folder
hosts="$T/dhcp-hosts"
mkdir -p "$hosts"
id=vm-boot$$
in_ns vmnet-alloc --pool 10.83.0.0/24 --bridge vmubr3 --create-bridge --dhcp-hostsdir "$hosts" \
  --id "$id" -q >"$T/rec1"
in_ns dnsmasq --keep-in-foreground --port=0 --interface=vmubr3 --bind-interfaces \
  --dhcp-range=10.83.0.0,static --dhcp-hostsdir="$hosts" --pid-file="$T/dnsmasq.pid" \
  --dhcp-leasefile="$T/dnsmasq.leases" --log-dhcp --log-facility="$T/dnsmasq.log" &
# `ip netns exec` may fork: $! is not dnsmasq. Stop it by its pid file.
on_exit "kill \$(cat '$T/dnsmasq.pid' 2>/dev/null) $! 2>/dev/null"
ip=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["net"]["ip"])' "$T/rec1")

# Clone (rootfs-clone if built, else a sparse cp) and inject (agent-inject
# if built, else debugfs).
if command -v rootfs-clone >/dev/null; then
  rootfs-clone --golden "$kit/rootfs.ext4" -q <"$T/rec1" >"$T/rec2" || fail "rootfs-clone failed"
else
  mkdir -p "$S/vms/$id"
  cp --sparse=always "$kit/rootfs.ext4" "$S/vms/$id/rootfs.ext4"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r["rootfs"]={"path":sys.argv[2]}; print(json.dumps(r))' \
    "$T/rec1" "$S/vms/$id/rootfs.ext4" >"$T/rec2"
fi
if command -v agent-inject >/dev/null; then
  SESSION_ID=boot-test-$$ agent-inject -q --copy "$kit/agent/vm-agent:/opt/vm-agent/vm-agent:0755" \
    --unit "$kit/agent/vm-agent.service" --env SESSION_ID <"$T/rec2" >"$T/rec3" || fail "agent-inject failed"
else
  need_cmd debugfs
  img=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rootfs"]["path"])' "$T/rec2")
  debugfs -R 'cat /etc/environment' "$img" >"$T/env" 2>/dev/null || true
  echo "SESSION_ID=boot-test-$$" >>"$T/env"
  cat >"$T/cmds" <<CMDS
mkdir /opt/vm-agent
write $kit/agent/vm-agent /opt/vm-agent/vm-agent
write $kit/agent/vm-agent.service /etc/systemd/system/vm-agent.service
symlink /etc/systemd/system/multi-user.target.wants/vm-agent.service /etc/systemd/system/vm-agent.service
rm /etc/environment
write $T/env /etc/environment
CMDS
  debugfs -w -f "$T/cmds" "$img" >/dev/null 2>&1
  cp "$T/rec2" "$T/rec3"
fi

t0=$(date +%s.%N)
in_ns fc-launch --vmm qemu --kernel "$kit/vmlinux" --initrd "$kit/initrd.img" <"$T/rec3" >"$T/rec4" \
  || { cat "$S/vms/$id/vmm.log" >&2 || true; fail "fc-launch failed"; }
pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vmm"]["pid"])' "$T/rec4")
on_exit "kill -9 $pid 2>/dev/null"
console=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vmm"]["console_log"])' "$T/rec4")
accel=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vmm"]["accel"])' "$T/rec4")
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vmm"]["backend"])' "$T/rec4")" = qemu ] \
  || fail "record's vmm.backend is not qemu"
img=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rootfs"]["path"])' "$T/rec4")

# The agent answers (bounded poll; a TCG boot takes ~10 s here).
code=000
for _ in $(seq 1 90); do
  code=$(in_ns curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$ip:8080/health" || true)
  [ "$code" = 200 ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
elapsed=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
if [ "$code" != 200 ]; then
  echo "--- console (tail)" >&2; tail -40 "$console" >&2 || true
  echo "--- vmm.log" >&2; cat "$S/vms/$id/vmm.log" >&2 || true
  echo "--- dnsmasq" >&2; tail -20 "$T/dnsmasq.log" >&2 || true
  fail "GET http://$ip:8080/health: $code after ${elapsed}s"
fi

# The console has the whole boot, from the kernel's first line.
grep -a -m1 -n 'Linux version' "$console" | grep -q '^1:' \
  || { head -5 "$console" >&2; fail "the console log does not start with the kernel's first line"; }
grep -aq 'Run /init as init process\|Freeing unused kernel' "$console" || fail "console lacks the early boot"
grep -aq 'vm-agent' "$console" || fail "console lacks the agent's start"

# Kill the VMM by the record's pid: the evidence stays, the lock goes.
kill -9 "$pid"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "VMM $pid still runs after SIGKILL"
[ -s "$console" ] || fail "console log gone after the VMM died"
[ -s "$S/vms/$id/vmm.log" ] || [ -e "$S/vms/$id/vmm.log" ] || fail "vmm.log gone"
flock -n "$img" true || fail "rootfs lock still held after the VMM died"
pass "booted ($accel): /health 200 after ${elapsed}s; console $(wc -c <"$console") bytes kept"
