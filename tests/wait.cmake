# vm-wait-ready: scripted guests in test namespaces (a bridge, a guest
# namespace behind a veth, a real HTTP server, a console written on a
# schedule, a stand-in VMM), and real boots of the guest kit (label boot).
set(_wait_tests
  wait-ready        # the agent answers: exit 0 at once, milestones, saved then printed
  wait-unit-failed  # unit failed: exit 4 in about a second, unit and agent's words named
  wait-crash-loop   # restarts and the start limit: unit_crash_loop
  wait-panic        # kernel panic, no init, no root fs, emergency mode: at once
  wait-vmm-exit     # the VMM dies (or is gone, or its pid reused): vmm_exited + vmm.log
  wait-refused      # refused while the unit runs: port_closed
  wait-no-arp       # nobody answers ARP: network_down with neighbour state and TAP counters
  wait-other-unit   # another unit failing: a warning, no false alarm
  wait-reporter     # reporter blocks: loopback-only listener, interface without address
  wait-garbage      # ANSI, CR, NULs, random bytes, overlong and glued lines
  wait-many         # several VMs, one process, one thread, completion order
  wait-interrupt    # SIGINT: records leave with error 130, exit 130
  wait-closed-stdout # the reader exits: the wait ends, one line, exit 1
  wait-secrets      # secrets printed on the console: in no byte of record or stderr
)
foreach(t IN LISTS _wait_tests)
  add_test(NAME cli.${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/${t}.sh)
  set_tests_properties(cli.${t} PROPERTIES
    ENVIRONMENT "VMU_BIN=${CMAKE_BINARY_DIR}/tools;VMU_SRC=${PROJECT_SOURCE_DIR}"
    LABELS "cli;vm-wait-ready;netns;root" SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()
add_test(NAME cli.wait-bad-input COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/wait-bad-input.sh)
set_tests_properties(cli.wait-bad-input PROPERTIES
  ENVIRONMENT "VMU_BIN=${CMAKE_BINARY_DIR}/tools;VMU_SRC=${PROJECT_SOURCE_DIR}"
  LABELS "cli;vm-wait-ready" SKIP_RETURN_CODE 77 TIMEOUT 60)
add_test(NAME cli.wait-man-catalog COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/wait-man-catalog.sh)
set_tests_properties(cli.wait-man-catalog PROPERTIES
  ENVIRONMENT "VMU_BIN=${CMAKE_BINARY_DIR}/tools;VMU_SRC=${PROJECT_SOURCE_DIR}"
  LABELS "cli;vm-wait-ready;contract" SKIP_RETURN_CODE 77 TIMEOUT 60)

# Real boots of the guest kit: e2e.scenarios (tests/e2e.cmake) boots the
# healthy agent, the missing ExecStart binary, the missing SESSION_ID and the
# unit never enabled (what wait-boot-{healthy,nobin,nosession,notenabled}
# did, one namespace each), with the other failure scenarios, in parallel.
