# rootfs-clone: CLI behaviour, one script per behaviour (helpers in
# cli/rootfs-clone-common.sh). Goldens are small images made by mke2fs -d.
# Tests that need root (tmpfs in a mount namespace) skip (77) without it.
set(_clone_tests
  rootfs-clone-basic       # identical but for machine-id; fsck clean; sparse; record
  rootfs-clone-cache       # digest cached, reused, invalidated; hashed once by 4 at once
  rootfs-clone-badgolden   # not ext4, needs_recovery, truncated, mounted: exit 2
  rootfs-clone-digest      # --expect-digest mismatch: exit 4
  rootfs-clone-reflink     # --method reflink on ext4: exit 1; auto copies
  rootfs-clone-size        # --size grows (resize2fs), fsck clean; shrinking: exit 2
  rootfs-clone-diskfull    # full tmpfs: exit 5, nothing left (root)
  rootfs-clone-inuse       # --force; an in-use clone or golden is refused
  rootfs-clone-pipeline    # failed record passes through; 4 records at once
  rootfs-clone-interrupt   # SIGINT mid-copy: 130, nothing left
  rootfs-clone-sync        # no fsync by default, --sync fsyncs; record synced/boot_id
  rootfs-clone-kill        # SIGKILL mid-copy: no rootfs.ext4, next run cleans up; --sync SIGINT
  rootfs-clone-reflink-xfs # reflink=1 XFS on a loop device: method reflink, shared (root)
)
foreach(t IN LISTS _clone_tests)
  add_test(NAME cli.${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/${t}.sh)
  set_tests_properties(cli.${t} PROPERTIES
    ENVIRONMENT "VMU_BIN=${CMAKE_BINARY_DIR}/tools"
    LABELS "cli;rootfs-clone" SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()
set_tests_properties(cli.rootfs-clone-diskfull cli.rootfs-clone-badgolden cli.rootfs-clone-reflink-xfs
  PROPERTIES
  LABELS "cli;rootfs-clone;root")
