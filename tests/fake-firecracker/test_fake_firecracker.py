#!/usr/bin/env python3
"""Tests of the fake Firecracker itself (python3 stdlib unittest only).

Run:  python3 tests/fake-firecracker/test_fake_firecracker.py      (or: python3 -m unittest ...)

Every fake process is started once, all at the same time, in setUpModule (Python start-up is the
slow part), and each test class drives its own process over its own Unix socket.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_firecracker.py")

TMP = None
PROCS = {}   # name -> dict(proc=Popen, sock=path, stdout=path, stderr=path)


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over an AF_UNIX stream socket (the host part of the URL is ignored)."""

    def __init__(self, path, timeout=5.0):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def call(conn, method, path, body=None, raw=None):
    """One request on an existing (keep-alive) connection. Returns (status, json-or-None)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    payload = resp.read()
    if resp.status != 204:
        assert resp.getheader("Content-Type") == "application/json", resp.getheaders()
    return resp.status, (json.loads(payload) if payload else None)


def api(sock, method, path, body=None, raw=None):
    conn = UnixHTTPConnection(sock)
    try:
        return call(conn, method, path, body, raw)
    finally:
        conn.close()


def tmp(name):
    return os.path.join(TMP, name)


def launch(name, args, env=None, sock=True):
    out, err = tmp(name + ".stdout"), tmp(name + ".stderr")
    full_env = dict(os.environ)
    for k in list(full_env):
        if k.startswith("FAKE_FC_"):
            del full_env[k]
    full_env.update(env or {})
    # sock: True -> <tmp>/<name>.sock, a string -> that path, False -> no --api-sock at all
    sock_path = tmp(name + ".sock") if sock is True else (sock or None)
    argv = [sys.executable, FAKE] + (["--api-sock", sock_path] if sock_path else []) + args
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e, env=full_env)
    PROCS[name] = {"proc": proc, "sock": sock_path, "stdout": out, "stderr": err}


def read(path):
    with open(path, "r", errors="replace") as f:
        return f.read()


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def wait_ready(name):
    """Readiness like a launcher: poll connect() on the socket; fail if the process exits."""
    p = PROCS[name]

    def ready():
        if p["proc"].poll() is not None:
            raise AssertionError("%s exited with %s: %s"
                                 % (name, p["proc"].returncode, read(p["stderr"])))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(p["sock"])
            return True
        except OSError:
            return False
        finally:
            s.close()

    wait_for(ready, what=name + " socket")
    return p["sock"]


def setUpModule():
    global TMP
    TMP = tempfile.mkdtemp(prefix="fakefc-")
    for f in ("vmlinux", "rootfs.ext4", "data.ext4", "b.log", "initrd.img"):
        with open(tmp(f), "wb") as fh:
            fh.write(b"\0" * 512)
    with open(tmp("stale.sock"), "w") as fh:
        fh.write("not a socket")
    with open(tmp("vm.json"), "w") as fh:
        json.dump({
            "boot-source": {"kernel_image_path": tmp("vmlinux"),
                            "boot_args": "console=ttyS0 reboot=k panic=1"},
            "drives": [{"drive_id": "rootfs", "path_on_host": tmp("rootfs.ext4"),
                        "is_root_device": True, "is_read_only": True}],
            "machine-config": {"vcpu_count": 1, "mem_size_mib": 128},
        }, fh)
    # All processes start at once; the tests then wait for whichever they use.
    launch("a", ["--id", "fake-a"], env={"FAKE_FC_REQUEST_LOG": tmp("a.requests.jsonl")})
    launch("b", ["--id", "fake-b", "--log-path", tmp("b.log"), "--level", "Debug",
                 "--show-level", "--show-log-origin"], env={"FAKE_FC_FAIL": "/drives"})
    launch("c", ["--id", "fake-c"], env={"FAKE_FC_NO_SOCKET": "1"})
    launch("d", ["--id", "fake-d"], env={"FAKE_FC_EXIT_AT_ONCE": "7"})
    launch("e", ["--id", "fake-e", "--bogus-flag"])
    launch("f", ["--id", "fake-f", "--config-file", tmp("vm.json")])
    launch("g", ["--id", "fake-g"], sock=tmp("stale.sock"))


def tearDownModule():
    for p in PROCS.values():
        if p["proc"].poll() is None:
            p["proc"].kill()
            p["proc"].wait()
    shutil.rmtree(TMP, ignore_errors=True)


def drive(drive_id, path, root=False, ro=False, **extra):
    d = {"drive_id": drive_id, "path_on_host": path, "is_root_device": root, "is_read_only": ro}
    d.update(extra)
    return d


class A_RulesAndBootSequence(unittest.TestCase):
    """Process "a": rejections before boot, a full boot, then the post-boot rules.
    Test names are ordered (unittest sorts them) because they share one VMM."""

    @classmethod
    def setUpClass(cls):
        cls.sock = wait_ready("a")

    def assertFault(self, result, status=400, contains=None):
        code, body = result
        self.assertEqual(code, status, body)
        self.assertIsInstance(body, dict)
        self.assertIn("fault_message", body)
        if contains:
            self.assertIn(contains, body["fault_message"])
        return body["fault_message"]

    def test_01_gets(self):
        code, info = api(self.sock, "GET", "/")
        self.assertEqual(code, 200)
        self.assertEqual(info, {"id": "fake-a", "state": "Not started", "vmm_version": "1.16.1",
                                "app_name": "Firecracker"})
        self.assertEqual(api(self.sock, "GET", "/version"),
                         (200, {"firecracker_version": "1.16.1"}))
        code, mc = api(self.sock, "GET", "/machine-config")
        self.assertEqual((code, mc["vcpu_count"], mc["mem_size_mib"]), (200, 1, 128))
        code, cfg = api(self.sock, "GET", "/vm/config")
        self.assertEqual(code, 200)
        self.assertEqual(cfg["drives"], [])

    def test_02_missing_required_field(self):
        self.assertFault(api(self.sock, "PUT", "/boot-source", {"boot_args": "console=ttyS0"}),
                         contains="missing field `kernel_image_path`")
        self.assertFault(api(self.sock, "PUT", "/machine-config", {"vcpu_count": 2}),
                         contains="missing field `mem_size_mib`")
        self.assertFault(api(self.sock, "PUT", "/drives/rootfs",
                             {"drive_id": "rootfs", "path_on_host": tmp("rootfs.ext4")}),
                         contains="missing field `is_root_device`")
        self.assertFault(api(self.sock, "PUT", "/network-interfaces/eth0", {"iface_id": "eth0"}),
                         contains="missing field `host_dev_name`")
        self.assertFault(api(self.sock, "PUT", "/actions", {}),
                         contains="missing field `action_type`")

    def test_03_wrong_type(self):
        self.assertFault(api(self.sock, "PUT", "/machine-config",
                             {"vcpu_count": "2", "mem_size_mib": 256}),
                         contains='invalid type: string "2", expected u8')
        self.assertFault(api(self.sock, "PUT", "/drives/rootfs",
                             drive("rootfs", tmp("rootfs.ext4"), root="yes")),
                         contains="expected a boolean")
        self.assertFault(api(self.sock, "PUT", "/boot-source", {"kernel_image_path": 42}),
                         contains="expected a string")
        self.assertFault(api(self.sock, "PUT", "/logger", {"level": "Loud"}),
                         contains="Invalid LevelFilter")
        self.assertFault(api(self.sock, "PUT", "/actions", {"action_type": "Boot"}),
                         contains="unknown variant `Boot`")

    def test_04_unknown_field(self):
        self.assertFault(api(self.sock, "PUT", "/boot-source",
                             {"kernel_image_path": tmp("vmlinux"), "kernel_args": "x"}),
                         contains="unknown field `kernel_args`")
        self.assertFault(api(self.sock, "PUT", "/machine-config",
                             {"vcpu_count": 1, "mem_size_mib": 128, "memory": 1}),
                         contains="unknown field `memory`")

    def test_05_missing_files_are_named(self):
        missing = tmp("no-such-rootfs.ext4")
        msg = self.assertFault(api(self.sock, "PUT", "/drives/rootfs",
                                   drive("rootfs", missing, root=True)))
        self.assertIn(missing, msg)
        self.assertIn("No such file or directory", msg)
        msg = self.assertFault(api(self.sock, "PUT", "/boot-source",
                                   {"kernel_image_path": tmp("no-vmlinux")}))
        self.assertIn(tmp("no-vmlinux"), msg)
        msg = self.assertFault(api(self.sock, "PUT", "/boot-source",
                                   {"kernel_image_path": tmp("vmlinux"),
                                    "initrd_path": tmp("no-initrd")}))
        self.assertIn(tmp("no-initrd"), msg)
        msg = self.assertFault(api(self.sock, "PUT", "/logger", {"log_path": tmp("no-dir/x.log")}))
        self.assertIn(tmp("no-dir/x.log"), msg)

    def test_06_path_body_id_mismatch(self):
        self.assertFault(api(self.sock, "PUT", "/drives/rootfs",
                             drive("other", tmp("rootfs.ext4"), root=True)),
                         contains="The id from the path does not match the id from the body!")
        self.assertFault(api(self.sock, "PUT", "/network-interfaces/eth0",
                             {"iface_id": "eth1", "host_dev_name": "tap0"}),
                         contains="The id from the path does not match the id from the body!")
        self.assertFault(api(self.sock, "PUT", "/drives/bad-id",
                             drive("bad-id", tmp("rootfs.ext4"))),
                         contains="alphanumeric characters and underscores")

    def test_07_malformed_and_routing(self):
        self.assertFault(api(self.sock, "PUT", "/machine-config", raw=b'{"vcpu_count": 2,'),
                         contains="deserializing the json body")
        self.assertFault(api(self.sock, "PUT", "/boot-source", raw=b""),
                         contains="Empty PUT request.")
        self.assertFault(api(self.sock, "PUT", "/no-such-thing", {"a": 1}),
                         contains="Invalid request method and/or path: PUT no-such-thing.")
        self.assertFault(api(self.sock, "DELETE", "/drives/rootfs"),
                         contains="Invalid request method and/or path")
        self.assertFault(api(self.sock, "GET", "/boot-source"),
                         contains="Invalid request method and/or path: GET boot-source.")
        self.assertFault(api(self.sock, "PUT", "/machine-config",
                             {"vcpu_count": 33, "mem_size_mib": 128}),
                         contains="number of vCPUs")
        self.assertFault(api(self.sock, "PUT", "/machine-config",
                             {"vcpu_count": 3, "mem_size_mib": 128, "smt": True}),
                         contains="even number if SMT")
        self.assertFault(api(self.sock, "PUT", "/drives/rootfs",
                             {"drive_id": "rootfs", "is_root_device": True}),
                         contains="virtio-block drive needs")
        self.assertFault(api(self.sock, "PUT", "/actions", {"action_type": "SendCtrlAltDel"}),
                         contains="not supported before starting the microVM")

    def test_08_instance_start_without_boot_source(self):
        self.assertFault(api(self.sock, "PUT", "/actions", {"action_type": "InstanceStart"}),
                         contains="Cannot start microvm without kernel configuration.")
        self.assertEqual(api(self.sock, "GET", "/")[1]["state"], "Not started")

    def test_10_full_boot_sequence(self):
        with open(tmp("a.log"), "w"):
            pass
        conn = UnixHTTPConnection(self.sock)  # one keep-alive connection for the whole sequence
        try:
            steps = [
                ("PUT", "/logger", {"log_path": tmp("a.log"), "level": "Debug",
                                    "show_level": True, "show_log_origin": True}),
                ("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 256, "smt": False}),
                ("PUT", "/boot-source", {"kernel_image_path": tmp("vmlinux"),
                                         "boot_args": "console=ttyS0 reboot=k panic=1"}),
                ("PUT", "/drives/rootfs", drive("rootfs", tmp("rootfs.ext4"), root=True)),
                ("PUT", "/drives/data", drive("data", tmp("data.ext4"), ro=True)),
                ("PUT", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": "tap0",
                                                     "guest_mac": "06:00:AC:10:00:02"}),
                ("PUT", "/actions", {"action_type": "InstanceStart"}),
            ]
            for method, path, body in steps:
                self.assertEqual(call(conn, method, path, body), (204, None), path)
            code, info = call(conn, "GET", "/")
            self.assertEqual((code, info["state"]), (200, "Running"))
            code, cfg = call(conn, "GET", "/vm/config")
            self.assertEqual([d["drive_id"] for d in cfg["drives"]], ["rootfs", "data"])
            self.assertEqual(cfg["machine-config"]["vcpu_count"], 2)
        finally:
            conn.close()
        # The simulated guest wrote its console to stdout (no PUT /serial was made).
        wait_for(lambda: "Linux version" in read(PROCS["a"]["stdout"]), what="console banner")
        console = read(PROCS["a"]["stdout"])
        self.assertIn("Command line: console=ttyS0 reboot=k panic=1 root=/dev/vda rw", console)
        # The VMM log went to the file set by PUT /logger, with level and origin shown.
        self.assertIn("[fake-a:fc_api:INFO:", read(tmp("a.log")))

    def test_11_rejections_after_start(self):
        after = "The requested operation is not supported after starting the microVM."
        self.assertFault(api(self.sock, "PUT", "/actions", {"action_type": "InstanceStart"}),
                         contains=after)
        self.assertFault(api(self.sock, "PUT", "/boot-source",
                             {"kernel_image_path": tmp("vmlinux")}), contains=after)
        self.assertFault(api(self.sock, "PUT", "/machine-config",
                             {"vcpu_count": 1, "mem_size_mib": 128}), contains=after)
        self.assertFault(api(self.sock, "PUT", "/drives/data",
                             drive("data", tmp("data.ext4"))), contains=after)
        self.assertFault(api(self.sock, "PUT", "/network-interfaces/eth1",
                             {"iface_id": "eth1", "host_dev_name": "tap1"}), contains=after)
        self.assertFault(api(self.sock, "PUT", "/logger", {"level": "Info"}), contains=after)
        self.assertFault(api(self.sock, "PUT", "/serial", {"serial_out_path": tmp("x")}),
                         contains=after)
        # Post-boot requests are accepted.
        self.assertEqual(api(self.sock, "PATCH", "/drives/data",
                             {"drive_id": "data", "path_on_host": tmp("data.ext4")}), (204, None))
        self.assertEqual(api(self.sock, "PATCH", "/vm", {"state": "Paused"}), (204, None))
        self.assertEqual(api(self.sock, "GET", "/")[1]["state"], "Paused")
        self.assertEqual(api(self.sock, "PATCH", "/vm", {"state": "Resumed"}), (204, None))

    def test_12_request_log_knob(self):
        lines = [json.loads(l) for l in read(tmp("a.requests.jsonl")).splitlines()]
        ok = [(r["method"], r["path"]) for r in lines if r["status"] == 204]
        boot = ok[:7]
        self.assertEqual(boot, [("PUT", "/logger"), ("PUT", "/machine-config"),
                                ("PUT", "/boot-source"), ("PUT", "/drives/rootfs"),
                                ("PUT", "/drives/data"), ("PUT", "/network-interfaces/eth0"),
                                ("PUT", "/actions")])
        start = [r for r in lines if r["path"] == "/actions" and r["status"] == 204][0]
        self.assertEqual(start["body"], {"action_type": "InstanceStart"})
        first = lines[0]
        self.assertEqual((first["method"], first["path"], first["body"]), ("GET", "/", None))

    def test_19_sigterm_exits_cleanly_and_removes_socket(self):
        p = PROCS["a"]["proc"]
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=5), 0)
        self.assertFalse(os.path.exists(self.sock))


class B_FlagsLoggerFailKnobSerial(unittest.TestCase):
    """Process "b": logger configured by flags, FAKE_FC_FAIL=/drives, PUT /serial."""

    @classmethod
    def setUpClass(cls):
        cls.sock = wait_ready("b")

    def test_1_logger_twice_rejected(self):
        code, body = api(self.sock, "PUT", "/logger", {"log_path": tmp("b.log")})
        self.assertEqual(code, 400)
        self.assertIn("Logger", body["fault_message"])
        self.assertIn("Running Firecracker v1.16.1", read(tmp("b.log")))

    def test_2_fail_knob(self):
        code, body = api(self.sock, "PUT", "/drives/rootfs",
                         drive("rootfs", tmp("rootfs.ext4"), root=True))
        self.assertEqual(code, 400)
        self.assertIn("injected failure", body["fault_message"])
        # Other paths are unaffected.
        self.assertEqual(api(self.sock, "PUT", "/machine-config",
                             {"vcpu_count": 1, "mem_size_mib": 128}), (204, None))

    def test_3_serial_out_path_gets_console(self):
        self.assertEqual(api(self.sock, "PUT", "/serial",
                             {"serial_out_path": tmp("b.console")}), (204, None))
        self.assertEqual(api(self.sock, "PUT", "/boot-source",
                             {"kernel_image_path": tmp("vmlinux"),
                              "initrd_path": tmp("initrd.img"),
                              "boot_args": "console=ttyS0 reboot=k panic=1"}), (204, None))
        self.assertEqual(api(self.sock, "PUT", "/actions", {"action_type": "InstanceStart"}),
                         (204, None))
        self.assertIn("Linux version", read(tmp("b.console")))
        self.assertNotIn("Linux version", read(PROCS["b"]["stdout"]))
        log = read(tmp("b.log"))
        self.assertIn("[fake-b:fc_api:ERROR:", log)  # --show-level --show-log-origin
        self.assertIn("injected failure", log)


class C_OtherProcesses(unittest.TestCase):

    def test_no_socket_knob(self):
        p = PROCS["c"]
        wait_for(lambda: "FAKE_FC_NO_SOCKET" in read(p["stderr"]), what="c start")
        time.sleep(0.2)
        self.assertIsNone(p["proc"].poll(), "process must stay alive")
        self.assertFalse(os.path.exists(p["sock"]))
        p["proc"].terminate()
        self.assertEqual(p["proc"].wait(timeout=5), 0)

    def test_exit_at_once_knob(self):
        self.assertEqual(PROCS["d"]["proc"].wait(timeout=10), 7)
        self.assertFalse(os.path.exists(PROCS["d"]["sock"]))

    def test_unknown_flag_rejected(self):
        self.assertEqual(PROCS["e"]["proc"].wait(timeout=10), 153)
        self.assertIn("--bogus-flag", read(PROCS["e"]["stderr"]))

    def test_existing_socket_path_rejected(self):
        self.assertEqual(PROCS["g"]["proc"].wait(timeout=10), 1)
        self.assertIn("Failed to open the API socket", read(PROCS["g"]["stderr"]))

    def test_config_file_boots(self):
        sock = wait_ready("f")
        self.assertEqual(api(sock, "GET", "/")[1]["state"], "Running")
        wait_for(lambda: "Linux version" in read(PROCS["f"]["stdout"]), what="f console")
        self.assertIn("root=/dev/vda ro", read(PROCS["f"]["stdout"]))
        code, body = api(sock, "PUT", "/drives/x", drive("x", tmp("data.ext4")))
        self.assertEqual(code, 400)
        self.assertIn("after starting", body["fault_message"])


if __name__ == "__main__":
    unittest.main()
