# Contracts every tool keeps: --help, completions, man pages, install.
string(REPLACE ";" " " _tools "${VMUTILS_TOOLS}")
set(_env "VMU_BIN=${CMAKE_BINARY_DIR}/tools" "VMU_TOOLS=${_tools}"
         "VMU_SRC=${PROJECT_SOURCE_DIR}" "VMU_BUILD=${CMAKE_BINARY_DIR}")
foreach(t help-contract completions-current man-pages install)
  add_test(NAME cli.${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/${t}.sh)
  set_tests_properties(cli.${t} PROPERTIES ENVIRONMENT "${_env}" LABELS "cli;contract"
                       SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()
