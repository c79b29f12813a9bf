#!/usr/bin/env python3
"""Time one command: wall and CPU, finer than /usr/bin/time's 10 ms.

    rusage.py LABEL OUTFILE -- CMD [ARGS...]

Runs CMD (stdin, stdout and stderr inherited), waits for it with wait4(2)
and appends "LABEL WALL_US CPU_US USER_US SYS_US EXIT" to OUTFILE.

- Wall: CLOCK_MONOTONIC from just before the fork to just after wait4
  returns (nanoseconds; this script's own start-up is outside it).
- CPU: the rusage wait4 returns for the child: the kernel's accounting of
  the child's run time (kept in ns, reported in microseconds), plus that of
  the descendants the child itself waited for. A process the child leaves
  running detached (fc-launch's VMM, in its own session) is not counted:
  its start-up is not the tool's work. (`perf stat` counts by inherited
  counters, which follow the detached VMM too; /usr/bin/time prints the same
  rusage rounded to 10 ms, which made a quiet machine's tools cost "0 ms".)
Exits with CMD's exit code.
"""
import os
import sys
import time


def main(argv):
    if len(argv) < 5 or argv[3] != "--":
        sys.stderr.write(__doc__)
        return 2
    label, out, cmd = argv[1], argv[2], argv[4:]
    t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        except OSError as e:
            sys.stderr.write("rusage.py: cannot run %s: %s\n" % (cmd[0], e))
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    t1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    code = os.waitstatus_to_exitcode(status)
    user_us = round(ru.ru_utime * 1e6)
    sys_us = round(ru.ru_stime * 1e6)
    with open(out, "a") as f:
        f.write("%s %d %d %d %d %d\n" % (label, (t1 - t0) // 1000, user_us + sys_us, user_us,
                                          sys_us, code))
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
