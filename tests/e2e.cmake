# The incident, end to end (issue 14). e2e.scenarios boots the guest kit
# for every failure scenario, in one network namespace with one dnsmasq,
# several guests at once (label boot too: scripts/test --fast leaves it
# out; RUN_SERIAL: it sizes its own parallelism, E2E_VMS). It also covers
# what the single-boot tests wait-boot-{healthy,nobin,nosession,notenabled}
# and fc-launch-qemu-boot checked (see docs/testing.md). The other two are
# quick checks of the examples and of the troubleshooting guide.
add_test(NAME e2e.scenarios COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/scenarios.sh)
set_tests_properties(e2e.scenarios PROPERTIES
  ENVIRONMENT "VMU_BIN=${CMAKE_BINARY_DIR}/tools;VMU_SRC=${PROJECT_SOURCE_DIR}"
  LABELS "e2e;boot;netns;root" SKIP_RETURN_CODE 77 TIMEOUT 1800 RUN_SERIAL TRUE)
foreach(t examples troubleshooting)
  add_test(NAME e2e.${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/${t}.sh)
  set_tests_properties(e2e.${t} PROPERTIES
    ENVIRONMENT "VMU_BIN=${CMAKE_BINARY_DIR}/tools;VMU_SRC=${PROJECT_SOURCE_DIR}"
    LABELS "cli;e2e;contract" SKIP_RETURN_CODE 77 TIMEOUT 60)
endforeach()
