# fc-launch: the Firecracker backend against the fake API server in
# tests/fake-firecracker (no root, no KVM), bad input, and one real boot
# through the QEMU backend (label "boot": ~10 s of both cores under TCG).
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

add_test(NAME cli.fc-launch-qemu-boot
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/fc-launch-qemu-boot.sh)
set_tests_properties(cli.fc-launch-qemu-boot PROPERTIES
  ENVIRONMENT "VMU_BIN=${CMAKE_BINARY_DIR}/tools;VMU_SRC=${PROJECT_SOURCE_DIR}"
  LABELS "cli;boot;netns;root" SKIP_RETURN_CODE 77 TIMEOUT 600 RUN_SERIAL TRUE)
