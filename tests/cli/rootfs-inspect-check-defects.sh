#!/usr/bin/env bash
# check names each defect precisely: one image per defect, and the set of
# error codes must be exactly the expected one (nothing else); exit 4.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rootfs-inspect-common.sh"

n=0
# defect NAME EXPECTED_CODES MUTATION [check args...]: lay out the clean
# tree, apply MUTATION (a function run in the tree), make the image, check.
defect() {
  local name=$1 want=$2 mutate=$3
  shift 3
  local d="$T/$name"
  layout_clean "$d"
  (cd "$d" && $mutate)
  mkimg "$d" "$d.ext4"
  expect_rc 4 rootfs-inspect check "$d.ext4" --unit agent.service "$@"
  local got
  got=$(error_codes "$OUT")
  [ "$got" = "$want" ] || { cat "$OUT" >&2; fail "$name: error codes '$got', expected '$want'"; }
  grep -q "$want" "$ERR" || fail "$name: the summary on stderr does not name $want: $(cat "$ERR")"
  n=$((n + 1))
}
sed_unit() { sed -i "$1" "$UNIT"; }

no_unit() { rm "$UNIT" etc/systemd/system/multi-user.target.wants/agent.service; }
defect unit-missing unit_not_found no_unit

masked() { mkdir -p lib/systemd/system && mv "$UNIT" lib/systemd/system/agent.service && ln -s /dev/null "$UNIT"; }
defect masked unit_masked masked

not_enabled() { rm etc/systemd/system/multi-user.target.wants/agent.service; }
defect not-enabled not_enabled not_enabled

wrong_target() {
  rm etc/systemd/system/multi-user.target.wants/agent.service
  mkdir -p etc/systemd/system/graphical.target.wants
  ln -s /etc/systemd/system/agent.service etc/systemd/system/graphical.target.wants/agent.service
}
defect enabled-elsewhere not_enabled wrong_target
has '(.code == "not_enabled") and (.evidence.links_elsewhere[0] == "/etc/systemd/system/graphical.target.wants/agent.service")' || fail "not_enabled evidence lacks the graphical.target link"

dangling_link() {
  ln -sfn /etc/systemd/system/agent-old.service etc/systemd/system/multi-user.target.wants/agent.service
}
defect link-dangling enablement_link_dangling dangling_link

no_binary() { rm opt/agent/server; }
defect exec-missing exec_not_found no_binary
stderr_has "exec_not_found"

dropin_binary() {
  mkdir -p etc/systemd/system/agent.service.d
  printf '[Service]\nExecStart=\nExecStart=/opt/agent/server-v2\n' >etc/systemd/system/agent.service.d/10-v2.conf
}
defect dropin-overrides exec_not_found dropin_binary
has '(.code == "exec_not_found") and (.evidence.setting == "/etc/systemd/system/agent.service.d/10-v2.conf:3")' || fail "drop-in ExecStart evidence: $(cat "$OUT")"

not_exec() { chmod 0644 opt/agent/server; }
defect exec-mode exec_not_executable not_exec

owner_only() { chmod 0700 opt/agent/server; }  # root-owned, run as agent (uid 4242)
defect exec-owner-only exec_not_executable owner_only
# ... which root may run: the '+' prefix runs it with full privileges.
plus_prefix() { chmod 0700 opt/agent/server; sed_unit 's|^ExecStart=|ExecStart=+|'; }
layout_clean "$T/plus" && (cd "$T/plus" && plus_prefix) && mkimg "$T/plus" "$T/plus.ext4"
expect_rc 0 rootfs-inspect check "$T/plus.ext4" --unit agent.service

garbage() { printf 'not a program\n' >opt/agent/server; }
defect exec-format exec_bad_format garbage

no_loader() { rm ".$LOADER"; }
defect elf-loader-missing elf_interpreter_not_found no_loader
has "(.code == \"elf_interpreter_not_found\" and .evidence.key == \"ExecStart\") and (.evidence.elf.interpreter == \"$LOADER\")" || fail "loader evidence: $(cat "$OUT")"

no_interp() { printf '#!/usr/bin/python3 -u\nprint(1)\n' >opt/agent/pre.sh; }
defect script-interpreter-missing interpreter_not_found no_interp

no_env_cmd() { printf '#!/usr/bin/env node\nconsole.log(1)\n' >opt/agent/pre.sh; }
defect env-command-missing env_interpreter_not_found no_env_cmd
# ... found once it is in the service's PATH.
env_cmd_ok() { no_env_cmd; cp -L /bin/true usr/bin/node; }
layout_clean "$T/node" && (cd "$T/node" && env_cmd_ok) && mkimg "$T/node" "$T/node.ext4"
expect_rc 0 rootfs-inspect check "$T/node.ext4" --unit agent.service

no_user() { sed_unit 's/^User=agent/User=ghost/'; }
defect user-missing user_not_found no_user

dropin_user() {
  mkdir -p lib/systemd/system/agent.service.d
  printf '[Service]\nUser=nobody\n' >lib/systemd/system/agent.service.d/user.conf
}
defect dropin-user user_not_found dropin_user

no_group() { sed_unit 's/^Group=agent/Group=ghosts/'; }
defect group-missing group_not_found no_group

no_workdir() { sed_unit 's|^WorkingDirectory=.*|WorkingDirectory=/srv/agent|'; }
defect workdir-missing workdir_not_found no_workdir

no_envfile() { rm etc/agent/env; }
defect envfile-missing environment_file_not_found no_envfile

etc_env_only() {
  sed_unit '/^EnvironmentFile=\/etc\/agent\/env/d'
  printf 'SESSION_ID=s3cr3t\n' >>etc/environment
}
defect env-only-in-etc-environment env_only_in_etc_environment etc_env_only --require-env SESSION_ID
if grep -q s3cr3t "$OUT" "$ERR"; then fail "an env value was printed"; fi

defect env-missing env_key_missing : --require-env API_TOKEN

export_line() { printf 'export SESSION_ID=s3cr3t\n' >etc/agent/env; }
defect env-export-line env_key_ignored export_line --require-env SESSION_ID

no_provider() { rm lib/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service; }
defect no-wait-online no_wait_online_provider no_provider

pass "check: $n defects each named precisely"
