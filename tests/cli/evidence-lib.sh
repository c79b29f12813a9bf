# Fabricated VMs for the fast vm-logs-archive / vm-destroy / vm-ls tests
# (sourced after lib.sh): a real ext4 image made by mke2fs, a console log, a
# VMM log and a record, as the pipeline would leave them — no boot.
need_cmd mke2fs
need_cmd python3

# json FILE EXPR: a Python expression over the JSON in FILE (as j).
json() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

SECRET="tok-$(od -An -N10 -tx1 /dev/urandom | tr -d ' \n')"

# fake_vm ID [PID START_TIME]: vms/ID with rootfs.ext4 (env file holding
# SESSION_ID=$SECRET, the agent unit), console.log (a failed agent that
# printed the secret), vmm.log and record.json (with vmm.pid when given).
fake_vm() {
  local id=$1 pid=${2:-} start=${3:-} dir="$S/vms/$1" root="$T/root-$1"
  mkdir -p "$dir" "$root/etc/systemd/system/multi-user.target.wants"
  printf 'PATH=/usr/bin\nSESSION_ID=%s\n' "$SECRET" >"$root/etc/environment"
  printf '[Unit]\nDescription=test agent\n[Service]\nType=exec\nEnvironmentFile=/etc/environment\nExecStart=/opt/vm-agent/vm-agent\n[Install]\nWantedBy=multi-user.target\n' \
    >"$root/etc/systemd/system/vm-agent.service"
  ln -sf /etc/systemd/system/vm-agent.service "$root/etc/systemd/system/multi-user.target.wants/vm-agent.service"
  mke2fs -q -F -t ext4 -d "$root" "$dir/rootfs.ext4" 16M >/dev/null || fail "mke2fs failed"
  {
    printf '[    0.000000] Linux version 6.1.0-test\n'
    printf '[    9.100000] (vm-agent)[168]: vm-agent.service: Failed to locate executable /opt/vm-agent/vm-agent: No such file or directory\n'
    printf '[    9.200000] vm-agent[168]: session %s\n' "$SECRET"
    printf '[    9.300000] systemd[1]: vm-agent.service: Main process exited, code=exited, status=203/EXEC\n'
    printf '[    9.400000] systemd[1]: vm-agent.service: Failed with result '"'"'exit-code'"'"'.\n'
  } >"$dir/console.log"
  echo "qemu: terminating on signal 15" >"$dir/vmm.log"
  python3 - "$dir" "$id" "$pid" "$start" <<'PY'
import json, sys
d, vid, pid, start = sys.argv[1:5]
r = {"v": 1, "id": vid, "created": "2026-01-01T00:00:00Z",
     "rootfs": {"path": d + "/rootfs.ext4"},
     "agent": {"units": [{"name": "vm-agent.service", "enabled_in": ["multi-user.target.wants"]}],
               "env_file": "/etc/environment", "env_keys": ["SESSION_ID"]}}
if pid:
    r["vmm"] = {"backend": "qemu", "pid": int(pid), "start_time": int(start),
                "console_log": d + "/console.log", "log": d + "/vmm.log",
                "control_socket": d + "/no-qmp.sock"}
json.dump(r, open(d + "/record.json", "w"))
PY
}

# stand_in: a sleeping process as a VMM (killed on exit); sets PID and START.
stand_in() {
  sleep 300 &
  PID=$!
  on_exit "kill -9 $PID 2>/dev/null"
  START=$(sed 's/.*) //' "/proc/$PID/stat" | cut -d' ' -f20)
}

# set_section ID NAME JSON: replace a section of the saved record.
set_section() {
  python3 - "$S/vms/$1/record.json" "$2" "$3" <<'PY'
import json, sys
p, name, value = sys.argv[1:4]
r = json.load(open(p))
r[name] = json.loads(value)
json.dump(r, open(p, "w"))
PY
}

# runs PID: the process runs (not a zombie).
runs() {
  local s
  s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$s" ] && [ "$s" != Z ]
}
