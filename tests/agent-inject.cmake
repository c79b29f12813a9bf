# agent-inject CLI tests: real images made by mke2fs, checked with e2fsck -fn
# and read back with debugfs. No root needed.
foreach(t ops bad-input escape full refuse pipeline reporter merge)
  add_test(NAME cli.agent-inject.${t}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/agent-inject-${t}.sh)
  set_tests_properties(cli.agent-inject.${t} PROPERTIES
    ENVIRONMENT "VMU_BIN=${CMAKE_BINARY_DIR}/tools"
    LABELS "cli" SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()
