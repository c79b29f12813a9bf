#!/usr/bin/env bash
# A CI job that needs fresh VMs: boot them with the agent, wait until each
# answers, run the job against them, tear them down. On ANY failure — a VM
# that is not ready, the job failing, a step of the pipeline failing, Ctrl-C
# or the CI runner's SIGTERM — the EXIT trap archives the evidence of every
# VM of this job into $ARTIFACTS and destroys them: nothing leaks (VMM, TAP,
# lease, clone) and nothing is lost (console log, guest journal, record,
# diagnosis). Upload $ARTIFACTS whatever the outcome.
#
#   examples/ci.sh [JOB...]     JOB runs once every VM is ready, with VM_IPS
#                               (space-separated) and VM_IDS in its environment;
#                               default: print the ready VMs
#
# The host is set up once (see README "Install"): the bridge exists with its
# DHCP server (`systemctl enable --now vmutils-dhcp@fcbr0`), the guest kit is
# somewhere. Everything else comes from the environment:
#   SESSION_ID      the agent's secret (a CI secret; never printed or archived)
#   CI_JOB_ID       unique per job (default: this shell's pid); names the VMs
#                   ci-JOB-1, ci-JOB-2, ... (letters, digits, '-' and '_')
#   VMS             how many VMs (default 2)
#   POOL, BRIDGE    the address pool and its bridge (192.168.100.0/24, fcbr0)
#   DHCP_HOSTSDIR   dnsmasq's hosts folder (/run/vmutils-dhcp/hosts)
#   KIT             the guest kit (build/guest-kit): vmlinux, initrd.img, rootfs.ext4
#   GOLDEN, KERNEL, INITRD   override the kit's files one by one
#   SPEC            what agent-inject writes (examples/vm-agent.spec.json)
#   READY_TIMEOUT   vm-wait-ready's deadline per VM (2m)
#   ARTIFACTS       where records and evidence archives go (./artifacts)
# Exit: 0 when every VM was ready and the job passed; else the first
# failure's code (vm-wait-ready: 3 not ready in time, 4 diagnosed failure).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${SESSION_ID:?SESSION_ID must be set (the agent refuses to start without it)}"
export SESSION_ID
job=${CI_JOB_ID:-$$}
VMS=${VMS:-2}
POOL=${POOL:-192.168.100.0/24}
BRIDGE=${BRIDGE:-fcbr0}
DHCP_HOSTSDIR=${DHCP_HOSTSDIR:-/run/vmutils-dhcp/hosts}
KIT=${KIT:-$here/../build/guest-kit}
GOLDEN=${GOLDEN:-$KIT/rootfs.ext4}
KERNEL=${KERNEL:-$KIT/vmlinux}
INITRD=${INITRD:-$KIT/initrd.img}
SPEC=${SPEC:-$here/vm-agent.spec.json}
READY_TIMEOUT=${READY_TIMEOUT:-2m}
ARTIFACTS=${ARTIFACTS:-$PWD/artifacts}
mkdir -p "$ARTIFACTS"

# The VMs are named by this job, so the trap can name them too, whatever
# step failed (no record needs to be read to find them).
ids=()
for ((i = 1; i <= VMS; i++)); do ids+=("ci-$job-$i"); done

finish() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" -ne 0 ]; then
    echo "ci: failed (exit $rc): archiving the evidence of ${ids[*]} into $ARTIFACTS, destroying them" >&2
    # Every VM of the job, ready ones too: the job may have failed on them.
    # VMs already destroyed by the pipeline (with their archive) are gone:
    # vm-destroy says so and goes on.
    vm-destroy --archive always --out "$ARTIFACTS" "${ids[@]}" >>"$ARTIFACTS/destroyed.jsonl" ||
      echo "ci: vm-destroy failed too (exit $?): see vm-ls" >&2
    ls -l "$ARTIFACTS"/*.tar.gz >&2 2>/dev/null || true
  else
    vm-destroy -q --archive never "${ids[@]}" >/dev/null
  fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Create, boot, wait. vm-wait-ready passes on a record per VM as soon as
# its verdict is known; vm-destroy archives and removes the failed ones at
# once and passes the ready ones on. With pipefail, any step's failure
# fails the job here, and the trap does the rest.
# (vmnet-alloc names one VM per run: one run per id, into one pipeline.)
for id in "${ids[@]}"; do
  vmnet-alloc --pool "$POOL" --bridge "$BRIDGE" --dhcp-hostsdir "$DHCP_HOSTSDIR" --id "$id" || exit
done |
  rootfs-clone --golden "$GOLDEN" |
  agent-inject --spec "$SPEC" |
  fc-launch --kernel "$KERNEL" --initrd "$INITRD" |
  vm-wait-ready --timeout "$READY_TIMEOUT" |
  vm-destroy --out "$ARTIFACTS" >"$ARTIFACTS/ready.jsonl"

# The job, against the ready VMs.
VM_IDS="${ids[*]}"
VM_IPS=$(jq -r 'select(.ready.ok) | .net.ip' "$ARTIFACTS/ready.jsonl" | tr '\n' ' ')
export VM_IDS VM_IPS
if [ $# -gt 0 ]; then
  "$@"
else
  echo "ci: ready: $VM_IDS at $VM_IPS"
fi
