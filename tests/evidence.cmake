# The end of a VM's life: vm-logs-archive, vm-destroy, vm-ls. Fast tests on
# fabricated VMs (real ext4 images, stand-in VMM processes, the fake
# Firecracker, TAPs in a namespace) and two real boots (label "boot").
set(_ev_env "VMU_BIN=${CMAKE_BINARY_DIR}/tools;VMU_SRC=${PROJECT_SOURCE_DIR}")
set(_ev_tests
  vm-logs-archive-members    # members, manifest digests, redaction, a growing log
  vm-logs-archive-retention  # --keep / --max-bytes prune only archives, never the new one
  vm-logs-archive-bad-input  # exit 2; unreadable secrets: exit 1, no archive at all
  vm-ls-states               # each state, filters, table, one VM in full
  vm-destroy-pipeline        # ready passes through, failed archived + destroyed, --failed
  vm-destroy-firecracker     # SendCtrlAltDel through the fake API server
  vm-destroy-half-dead       # VMM/TAP/lease/record gone, SIGKILL after --grace, twice
  vm-destroy-lost-record     # an empty record (a power cut after vmnet-alloc): removed
)
foreach(t IN LISTS _ev_tests)
  add_test(NAME cli.${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/${t}.sh)
  set_tests_properties(cli.${t} PROPERTIES ENVIRONMENT "${_ev_env}"
                       LABELS "cli;evidence" SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()
set_tests_properties(cli.vm-destroy-half-dead PROPERTIES LABELS "cli;evidence;netns")

# Real boots of the guest kit (QEMU TCG here: each boot takes 10-60 s of
# both cores), one VM each, run alone.
foreach(t vm-destroy-boot-healthy vm-destroy-boot-failed)
  add_test(NAME cli.${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/${t}.sh)
  set_tests_properties(cli.${t} PROPERTIES ENVIRONMENT "${_ev_env}"
                       LABELS "cli;evidence;boot" SKIP_RETURN_CODE 77 TIMEOUT 900 RUN_SERIAL TRUE)
endforeach()
