# CPack pre-build script (CPACK_PRE_BUILD_SCRIPTS), run on the staging folder
# before the DEB generator splits the debug info off:
# - man pages and the changelog gzipped as Debian policy wants (gzip -9n: no
#   name or time stamp, so the package is reproducible);
# - the compiler's .comment section dropped from the binaries, and their
#   debug sections compressed (zlib), as dh_strip does: the -dbgsym package
#   the generator then splits off is a third of the size, and cpack a few
#   minutes faster (lintian: binary-has-unneeded-section).
file(GLOB_RECURSE _docs LIST_DIRECTORIES false
     "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*/share/man/man?/*"
     "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*/share/doc/*/changelog")
foreach(f IN LISTS _docs)
  if(NOT f MATCHES "\\.gz$")
    execute_process(COMMAND gzip -9nf "${f}" RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "cpack-prebuild: gzip -9n '${f}' failed")
    endif()
  endif()
endforeach()

find_program(_objcopy objcopy REQUIRED)
file(GLOB_RECURSE _files LIST_DIRECTORIES false "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*/bin/*")
foreach(f IN LISTS _files)
  file(READ "${f}" _magic LIMIT 4 HEX)
  if(_magic STREQUAL "7f454c46")   # ELF
    execute_process(COMMAND ${_objcopy} --remove-section=.comment --compress-debug-sections "${f}"
                    RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "cpack-prebuild: objcopy --remove-section=.comment --compress-debug-sections '${f}' failed")
    endif()
  endif()
endforeach()
