# The fake Firecracker API server's own tests: a fake that accepts
# everything would prove nothing about fc-launch.
add_test(NAME fake-firecracker.rules
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/fake-firecracker/test_fake_firecracker.py)
set_tests_properties(fake-firecracker.rules PROPERTIES LABELS "cli;fake" TIMEOUT 120)
