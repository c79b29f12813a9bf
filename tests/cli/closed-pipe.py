#!/usr/bin/env python3
"""Runs a command with its stdout on a real pipe whose reader exits.

closed-pipe.py gone CMD...   the reader has exited before CMD starts
closed-pipe.py one CMD...    the reader reads one line, then exits; the pipe
                             holds 4 KiB, so CMD is still writing by then
The lines the reader received go to our stdout; our exit code is CMD's.
"""
import fcntl
import os
import subprocess
import sys

F_SETPIPE_SZ = 1031


def main():
    mode, cmd = sys.argv[1], sys.argv[2:]
    r, w = os.pipe()
    if mode == "gone":
        reader = subprocess.Popen(["sh", "-c", "exit 0"], stdin=r)
        reader.wait()
        os.close(r)
        proc = subprocess.Popen(cmd, stdout=w)
        os.close(w)
        sys.exit(proc.wait())
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
    proc = subprocess.Popen(cmd, stdout=w)
    os.close(w)
    line = b""
    while not line.endswith(b"\n"):
        b = os.read(r, 1)
        if not b:
            break
        line += b
    os.close(r)
    sys.stdout.buffer.write(line)
    sys.stdout.flush()
    sys.exit(proc.wait())


main()
