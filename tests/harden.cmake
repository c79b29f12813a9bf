# Hardening (issue 13): what hostile or careless input does, one script per
# behaviour (helpers in cli/harden-common.sh). Real images by mke2fs; no root
# needed unless labelled.
set(_harden_tests
  harden-record-input          # deep nesting, 1e400, bad v: refused per line, next goes on
  harden-interrupt             # SIGINT: 130 in every tool; unprocessed records marked
  harden-refusal-keeps-record  # a refusal never makes the saved record less
  harden-stderr-controls       # control characters quoted; bare --env never echoed
  harden-not-regular           # FIFOs and folders refused before a blocking open, exit 2
  harden-truncated-image       # one image check: truncated and quota images refused by all
  harden-trusted-paths         # a record may only name its own VM's files; net values checked
  harden-inject-input          # env-file NUL, DefaultInstance escape, env 0600, SIGINT on --image
  harden-small-inputs          # --size '', negative limits; state folders 0750
)
foreach(t IN LISTS _harden_tests)
  add_test(NAME cli.${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/${t}.sh)
  set_tests_properties(cli.${t} PROPERTIES
    ENVIRONMENT "VMU_BIN=${CMAKE_BINARY_DIR}/tools"
    LABELS "cli;harden" SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()
