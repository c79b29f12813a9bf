# Operator ergonomics (issue 10), one script per behaviour (helpers in
# cli/ergo-common.sh): failed VMs and --retry, a closed stdout, unsynced
# clones, bad lines, progress, tables, option checks and help, completions
# in bash, zsh and fish, rootfs-inspect --id, man pages' SEE ALSO.
string(REPLACE ";" " " _ergo_tools "${VMUTILS_TOOLS}")
set(_ergo_env "VMU_BIN=${CMAKE_BINARY_DIR}/tools" "VMU_TOOLS=${_ergo_tools}"
              "VMU_SRC=${PROJECT_SOURCE_DIR}" "VMU_BUILD=${CMAKE_BINARY_DIR}")
set(_ergo_tests
  ergo-failed-id              # --id of a failed VM: who, why, exit code; --retry; right advice
  ergo-closed-stdout-pipeline # stdout closed: one line, records saved, exit 1
  ergo-closed-stdout-alloc    # vmnet-alloc undoes unreceived VMs (netns, root)
  ergo-unsynced-clone         # fc-launch refuses an unsynced clone of an earlier boot
  ergo-bad-line               # a non-JSON line: line number, skipped, others go on
  ergo-progress               # announced before, live on a terminal, silent in pipes / -q
  ergo-tables                 # libsmartcols tables fit 80 columns; --json, -o, --no-legend, colour
  ergo-options                # one help form, did you mean, misplaced options refused
  ergo-inspect-id             # rootfs-inspect --id
  completion-bash             # bash: ids, files, folders, values, options
  completion-zsh              # zsh through zpty
  completion-fish             # fish: complete -C
  man-see-also                # SEE ALSO names pages that exist; one header form
)
foreach(t IN LISTS _ergo_tests)
  add_test(NAME cli.${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/${t}.sh)
  set_tests_properties(cli.${t} PROPERTIES ENVIRONMENT "${_ergo_env}"
                       LABELS "cli;ergo" SKIP_RETURN_CODE 77 TIMEOUT 180)
endforeach()
set_tests_properties(cli.ergo-closed-stdout-alloc PROPERTIES LABELS "cli;ergo;netns;root")
set_tests_properties(cli.completion-bash cli.completion-zsh cli.completion-fish cli.man-see-also
                     PROPERTIES LABELS "cli;ergo;contract")
