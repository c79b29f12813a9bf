# CPack post-build script (CPACK_POST_BUILD_SCRIPTS): make the -dbgsym
# package CPack 3.25 writes look like Debian's own (dh_strip's), so lintian
# has no error on it. CPack's has
# - an md5sums file naming the files by their absolute staging paths
#   (lintian: md5sums-lists-nonexistent-file, file-missing-in-md5sums),
# - no /usr/share/doc/vmutils-dbgsym (Debian: a link to the main package's
#   folder, whose copyright and changelog cover it: no-copyright-file),
# - executable .debug files (Debian: 0644),
# - "Package-Type: ddeb", which Debian's dbgsym packages do not carry.
# The package is unpacked, fixed and rebuilt in place with dpkg-deb.
foreach(pkg IN LISTS CPACK_PACKAGE_FILES)
  if(NOT pkg MATCHES "-dbgsym_[^/]*\\.ddeb$")
    continue()
  endif()
  set(tree "${pkg}.tree")
  file(REMOVE_RECURSE "${tree}")
  execute_process(COMMAND dpkg-deb -R "${pkg}" "${tree}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cpack-dbgsym: dpkg-deb -R '${pkg}' failed")
  endif()

  file(GLOB_RECURSE debug_files LIST_DIRECTORIES false "${tree}/usr/lib/debug/*")
  file(CHMOD ${debug_files} FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

  file(READ "${tree}/DEBIAN/control" control)
  string(REGEX REPLACE "\nPackage-Type: ddeb" "" control "${control}")
  file(WRITE "${tree}/DEBIAN/control" "${control}")
  string(REGEX MATCH "Depends: ([^ \n]+)" _ "${control}")
  set(main_pkg "${CMAKE_MATCH_1}")
  string(REGEX MATCH "(^|\n)Package: ([^ \n]+)" _ "${control}")
  set(dbg_pkg "${CMAKE_MATCH_2}")
  file(MAKE_DIRECTORY "${tree}/usr/share/doc")
  file(CREATE_LINK "${main_pkg}" "${tree}/usr/share/doc/${dbg_pkg}" SYMBOLIC)

  file(GLOB_RECURSE payload LIST_DIRECTORIES false RELATIVE "${tree}" "${tree}/usr/*")
  list(SORT payload)
  set(md5sums "")
  foreach(f IN LISTS payload)
    if(NOT IS_SYMLINK "${tree}/${f}")
      file(MD5 "${tree}/${f}" sum)
      string(APPEND md5sums "${sum}  ${f}\n")
    endif()
  endforeach()
  file(WRITE "${tree}/DEBIAN/md5sums" "${md5sums}")
  file(CHMOD "${tree}/DEBIAN/md5sums" "${tree}/DEBIAN/control"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

  execute_process(COMMAND dpkg-deb --root-owner-group -Zgzip --build "${tree}" "${pkg}"
                  OUTPUT_QUIET RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cpack-dbgsym: dpkg-deb --build '${tree}' failed")
  endif()
  file(REMOVE_RECURSE "${tree}")
endforeach()
