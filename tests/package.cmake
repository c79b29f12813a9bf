# The Debian package (docs/packaging.md). package-install builds it with
# scripts/package, installs it into a debootstrapped Debian 12 root with apt,
# and purges it: minutes cold (a release build, debootstrap), cached in
# build/<preset>/package for reruns; label "slow", so `scripts/test --fast`
# leaves it out. package-dhcp runs the DHCP unit's helper in a namespace.
string(REPLACE ";" " " _pkg_tools "${VMUTILS_TOOLS}")
set(_pkg_env "VMU_BIN=${CMAKE_BINARY_DIR}/tools" "VMU_TOOLS=${_pkg_tools}"
             "VMU_SRC=${PROJECT_SOURCE_DIR}" "VMU_BUILD=${CMAKE_BINARY_DIR}")
add_test(NAME package.install COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/package-install.sh)
set_tests_properties(package.install PROPERTIES ENVIRONMENT "${_pkg_env}"
  LABELS "package;root;slow" SKIP_RETURN_CODE 77 TIMEOUT 3600)
add_test(NAME package.dhcp COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/package-dhcp.sh)
set_tests_properties(package.dhcp PROPERTIES ENVIRONMENT "${_pkg_env}"
  LABELS "package;netns;root" SKIP_RETURN_CODE 77 TIMEOUT 120)
