# fc-launch: the Firecracker backend against the fake API server in
# tests/fake-firecracker (no root, no KVM) and bad input; its real boots are
# in tests/e2e.cmake.
set(_fcl_tests
  fc-launch-happy        # request order and bodies, vmm section, console file
  fc-launch-api-error    # a 400 on the drive: exit 1, fault_message, VMM stopped, logs kept
  fc-launch-no-socket    # the API socket never appears: exit 1 within the deadline
  fc-launch-exit-at-once # the VMM dies at once: exit 1, fast, its error quoted
  fc-launch-dry-run      # requests / argv as JSON, nothing started
  fc-launch-bad-input    # exit 2 before anything starts; exit 1 for a missing VMM
  fc-launch-tap          # a TAP in a namespace: accepted; a missing one: exit 2
)
foreach(t IN LISTS _fcl_tests)
  add_test(NAME cli.${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/${t}.sh)
  set_tests_properties(cli.${t} PROPERTIES
    ENVIRONMENT "VMU_BIN=${CMAKE_BINARY_DIR}/tools;VMU_SRC=${PROJECT_SOURCE_DIR}"
    LABELS "cli;fc-launch" SKIP_RETURN_CODE 77 TIMEOUT 60)
endforeach()
set_tests_properties(cli.fc-launch-tap cli.fc-launch-happy PROPERTIES
  LABELS "cli;fc-launch;netns;root")

# The real boot through the QEMU backend (console from the kernel's first
# line, kept after the VMM died, the rootfs lock freed, /health answering)
# is checked by e2e.scenarios (scenarios 1 and 6), with no boot of its own.
