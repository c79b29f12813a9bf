# vmnet-alloc: CLI behaviour, one script per behaviour. Tests that need root
# and a network namespace skip (77) without them; CI forbids skips.
set(_vmnet_tests
  vmnet-alloc-badinput      # exit 2 / 5 with clear messages
  vmnet-alloc-concurrency   # 64 processes at once: distinct addresses
  vmnet-alloc-netns         # TAP with vnet_hdr, up, on the bridge; release
  vmnet-alloc-rollback      # attach fails: no TAP, no lease
  vmnet-alloc-noperm        # missing CAP_NET_ADMIN says so
  vmnet-alloc-gc            # a dead VMM's lease is reclaimed
  vmnet-alloc-dnsmasq       # dnsmasq serves the --dhcp-hostsdir entry
  vmnet-alloc-store-version # newer stores refused, unknown fields kept
  vmnet-alloc-store-check   # mismatched pool, duplicate addresses refused
  vmnet-alloc-migrate       # a v1 store migrated in place by 16 racing allocators
  vmnet-alloc-ifname        # '%', whitespace, '.' refused before the kernel
)
# etcd: each starts its own three-member cluster on 127.0.0.1 (etcd-lib.sh).
set(_vmnet_etcd_tests
  vmnet-alloc-etcd-hosts    # two hosts, 500 allocations, one pool: distinct
  vmnet-alloc-etcd-failover # a member killed mid-run: allocation goes on
  vmnet-alloc-etcd-quorum   # two members down: clear error, nothing left; resumes
  vmnet-alloc-etcd-gc       # kill -9 after the transaction: gc frees; --host
  etcd-registry             # every tool mirrors its records; vm-destroy removes them
)
list(APPEND _vmnet_tests ${_vmnet_etcd_tests})
foreach(t IN LISTS _vmnet_tests)
  add_test(NAME cli.${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/${t}.sh)
  set_tests_properties(cli.${t} PROPERTIES
    ENVIRONMENT "VMU_BIN=${CMAKE_BINARY_DIR}/tools"
    LABELS "cli;vmnet-alloc" SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()
set_tests_properties(cli.vmnet-alloc-netns cli.vmnet-alloc-rollback cli.vmnet-alloc-noperm
  cli.vmnet-alloc-gc cli.vmnet-alloc-dnsmasq cli.vmnet-alloc-ifname PROPERTIES LABELS "cli;vmnet-alloc;netns;root")
foreach(t IN LISTS _vmnet_etcd_tests)
  set_tests_properties(cli.${t} PROPERTIES LABELS "cli;vmnet-alloc;etcd" TIMEOUT 300)
endforeach()
set_tests_properties(cli.vmnet-alloc-etcd-gc PROPERTIES LABELS "cli;vmnet-alloc;etcd;netns;root")
