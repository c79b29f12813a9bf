# rootfs-inspect CLI tests: images made by mke2fs -d from folders the tests
# lay out; read-only, no root needed.
foreach(t check-clean check-defects diff ls-cat bad-input)
  add_test(NAME cli.rootfs-inspect.${t}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/rootfs-inspect-${t}.sh)
  set_tests_properties(cli.rootfs-inspect.${t} PROPERTIES
    ENVIRONMENT "VMU_BIN=${CMAKE_BINARY_DIR}/tools"
    LABELS "cli" SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()
# agent-inject --check runs rootfs-inspect's preflight after an injection.
add_test(NAME cli.agent-inject.check
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/rootfs-inspect-agent-inject-check.sh)
set_tests_properties(cli.agent-inject.check PROPERTIES
  ENVIRONMENT "VMU_BIN=${CMAKE_BINARY_DIR}/tools"
  LABELS "cli" SKIP_RETURN_CODE 77 TIMEOUT 300)
