#!/usr/bin/env python3
# fake_firecracker.py - TEST-ONLY fake of the Firecracker v1.16.1 API (tests/ only, never shipped).
# Rules enforced, from firecracker.yaml (v1.16.1) and Firecracker's parsed_request/rpc_interface:
#  1. Routing: known METHOD+path only, else 400 "Invalid request method and/or path: M p."; empty
#     PUT/PATCH body -> "Empty PUT request."; GET with a body -> 400.
#  2. Bodies vs yaml definitions, serde-style: required fields, JSON types, integer widths, enums,
#     unknown fields (deny_unknown_fields), duplicate keys, malformed JSON -> 400 fault_message.
#  3. Ids: path id non-empty [alnum_] and equal to the body id (drives, network-interfaces, pmem).
#  4. Files opened on the request: kernel, initrd, drive/pmem file, log_path (must exist) -> named.
#  5. State: pre-boot-only after InstanceStart, InstanceStart twice, post-boot-only before it, start
#     without boot-source, logger/metrics configured twice -> 400. vcpu 1..32, one root drive, MACs.
# Console lines go to stdout or PUT /serial's file. Knobs FAKE_FC_*: see README.md next to this file.

import errno
import json
import os
import re
import resource
import signal
import socket
import socketserver
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler

FC_VERSION = "1.16.1"
APP_NAME = "Firecracker"
MAX_VCPUS = 32
CMDLINE_MAX_SIZE = 2048  # x86_64 arch::CMDLINE_MAX_SIZE
DEFAULT_BOOT_ARGS = ("reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux "
                     "i8042.dumbkbd swiotlb=noforce")
DEFAULT_PAYLOAD_LIMIT = 51200

# Exit codes (FcExitCode, vmm/src/lib.rs)
EXIT_OK = 0
EXIT_GENERIC = 1
EXIT_BAD_CONFIGURATION = 152
EXIT_ARG_PARSING = 153

NOT_AFTER_BOOT = "The requested operation is not supported after starting the microVM."
NOT_BEFORE_BOOT = "The requested operation is not supported before starting the microVM."


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------
class ApiError(Exception):
    """An error answered as {"fault_message": ...} with the given status (400 by default)."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.message = message
        self.status = status


class SerdeError(ApiError):
    def __init__(self, message):
        super().__init__(
            "An error occurred when deserializing the json body of a request: %s." % message)


def os_error_text(e):
    """Rust's io::Error Display: 'No such file or directory (os error 2)'."""
    code = e.errno if e.errno is not None else 0
    return "%s (os error %d)" % (os.strerror(code), code)


# --------------------------------------------------------------------------------------------
# Schema checking (a small serde_json emulation driven by the yaml definitions)
# --------------------------------------------------------------------------------------------
INT_RANGES = {
    "u8": (0, 2**8 - 1), "u16": (0, 2**16 - 1), "u32": (0, 2**32 - 1),
    "u64": (0, 2**64 - 1), "usize": (0, 2**64 - 1), "i32": (-2**31, 2**31 - 1),
}


def describe_value(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean `%s`" % ("true" if v else "false")
    if isinstance(v, int):
        return "integer `%d`" % v
    if isinstance(v, float):
        return "floating point `%r`" % v
    if isinstance(v, str):
        return "string %s" % json.dumps(v)
    if isinstance(v, list):
        return "a sequence"
    return "a map"


def S(name, fields, required=(), deny_unknown=True):
    return {"name": name, "fields": fields, "required": list(required), "deny": deny_unknown}


TOKEN_BUCKET = S("TokenBucketConfig", {
    "size": "u64", "one_time_burst": "u64", "refill_time": "u64",
}, required=["size", "refill_time"])

RATE_LIMITER = S("RateLimiterConfig", {
    "bandwidth": ("object", TOKEN_BUCKET), "ops": ("object", TOKEN_BUCKET),
})

BOOT_SOURCE = S("BootSourceConfig", {
    "kernel_image_path": "string", "initrd_path": "string", "boot_args": "string",
}, required=["kernel_image_path"])

MACHINE_CONFIG_FIELDS = {
    "vcpu_count": "u8", "mem_size_mib": "usize", "smt": "bool", "track_dirty_pages": "bool",
    "cpu_template": ("enum", ["C3", "T2", "T2S", "T2CL", "T2A", "V1N1", "None"]),
    "huge_pages": ("enum", ["None", "2M"]),
}
MACHINE_CONFIG = S("MachineConfig", MACHINE_CONFIG_FIELDS, required=["vcpu_count", "mem_size_mib"])
MACHINE_CONFIG_UPDATE = S("MachineConfigUpdate", MACHINE_CONFIG_FIELDS)

DRIVE = S("BlockDeviceConfig", {
    "drive_id": "string", "partuuid": "string", "is_root_device": "bool",
    "cache_type": ("enum", ["Unsafe", "Writeback"]), "is_read_only": "bool",
    "path_on_host": "string", "rate_limiter": ("object", RATE_LIMITER),
    "io_engine": ("enum", ["Sync", "Async"]), "socket": "string",
}, required=["drive_id", "is_root_device"])

PARTIAL_DRIVE = S("BlockDeviceUpdateConfig", {
    "drive_id": "string", "path_on_host": "string", "rate_limiter": ("object", RATE_LIMITER),
}, required=["drive_id"])

NET = S("NetworkInterfaceConfig", {
    "iface_id": "string", "host_dev_name": "string", "guest_mac": "string", "mtu": "u16",
    "rx_rate_limiter": ("object", RATE_LIMITER), "tx_rate_limiter": ("object", RATE_LIMITER),
}, required=["iface_id", "host_dev_name"])

PARTIAL_NET = S("NetworkInterfaceUpdateConfig", {
    "iface_id": "string",
    "rx_rate_limiter": ("object", RATE_LIMITER), "tx_rate_limiter": ("object", RATE_LIMITER),
}, required=["iface_id"])

LOGGER = S("LoggerConfig", {
    "log_path": "string", "level": "loglevel", "show_level": "bool", "show_log_origin": "bool",
    "module": "string",
})

METRICS = S("MetricsConfig", {"metrics_path": "string"}, required=["metrics_path"])

ACTION = S("ActionBody", {
    "action_type": ("enum", ["FlushMetrics", "InstanceStart", "SendCtrlAltDel"]),
}, required=["action_type"])

VSOCK = S("VsockDeviceConfig", {
    "vsock_id": "string", "guest_cid": "u32", "uds_path": "string",
}, required=["guest_cid", "uds_path"])

BALLOON = S("BalloonDeviceConfig", {
    "amount_mib": "u32", "deflate_on_oom": "bool", "stats_polling_interval_s": "u16",
    "free_page_hinting": "bool", "free_page_reporting": "bool",
}, required=["amount_mib", "deflate_on_oom"])
BALLOON_UPDATE = S("BalloonUpdateConfig", {"amount_mib": "u32"}, required=["amount_mib"])
BALLOON_STATS_UPDATE = S("BalloonUpdateStatsConfig", {"stats_polling_interval_s": "u16"},
                         required=["stats_polling_interval_s"])
BALLOON_START_CMD = S("StartHintingCmd", {"acknowledge_on_stop": "bool"})

ENTROPY = S("EntropyDeviceConfig", {"rate_limiter": ("object", RATE_LIMITER)})

SERIAL = S("SerialConfig", {
    "serial_out_path": "string", "rate_limiter": ("object", TOKEN_BUCKET),
})

MMDS_CONFIG = S("MmdsConfig", {
    "version": ("enum", ["V1", "V2"]), "network_interfaces": ("array", "string"),
    "ipv4_address": "string", "imds_compat": "bool",
}, required=["network_interfaces"])

PMEM = S("PmemConfig", {
    "id": "string", "path_on_host": "string", "root_device": "bool", "read_only": "bool",
    "rate_limiter": ("object", RATE_LIMITER),
}, required=["id", "path_on_host"])
PARTIAL_PMEM = S("PmemUpdateConfig", {"id": "string", "rate_limiter": ("object", RATE_LIMITER)},
                 required=["id"])

MEMORY_HOTPLUG = S("MemoryHotplugConfig", {
    "total_size_mib": "usize", "slot_size_mib": "usize", "block_size_mib": "usize",
})
MEMORY_HOTPLUG_UPDATE = S("MemoryHotplugSizeUpdate", {"requested_size_mib": "usize"})

VM_STATE = S("Vm", {"state": ("enum", ["Paused", "Resumed"])}, required=["state"])

MEMORY_BACKEND = S("MemBackendConfig", {
    "backend_type": ("enum", ["File", "Uffd"]), "backend_path": "string",
}, required=["backend_type", "backend_path"])
NETWORK_OVERRIDE = S("NetworkOverride", {"iface_id": "string", "host_dev_name": "string"},
                     required=["iface_id", "host_dev_name"])
VSOCK_OVERRIDE = S("VsockOverride", {"uds_path": "string"}, required=["uds_path"])
SNAPSHOT_CREATE = S("CreateSnapshotParams", {
    "mem_file_path": "string", "snapshot_path": "string",
    "snapshot_type": ("enum", ["Full", "Diff"]),
}, required=["mem_file_path", "snapshot_path"])
SNAPSHOT_LOAD = S("LoadSnapshotConfig", {
    "enable_diff_snapshots": "bool", "track_dirty_pages": "bool", "mem_file_path": "string",
    "mem_backend": ("object", MEMORY_BACKEND), "snapshot_path": "string", "resume_vm": "bool",
    "network_overrides": ("array", ("object", NETWORK_OVERRIDE)),
    "vsock_override": ("object", VSOCK_OVERRIDE), "clock_realtime": "bool",
}, required=["snapshot_path"])

CPUID_REG_MOD = S("CpuidRegisterModifier", {
    "register": ("enum", ["eax", "ebx", "ecx", "edx"]), "bitmap": "string",
}, required=["register", "bitmap"])
CPUID_LEAF_MOD = S("CpuidLeafModifier", {
    "leaf": "string", "subleaf": "string", "flags": "i32",
    "modifiers": ("array", ("object", CPUID_REG_MOD)),
}, required=["leaf", "subleaf", "flags", "modifiers"])
REG_MOD = S("RegisterModifier", {"addr": "string", "bitmap": "string"}, required=["addr", "bitmap"])
VCPU_FEATURES = S("VcpuFeatures", {"index": "i32", "bitmap": "string"}, required=["index", "bitmap"])
CPU_CONFIG = S("CustomCpuTemplate", {
    "kvm_capabilities": ("array", "string"),
    "cpuid_modifiers": ("array", ("object", CPUID_LEAF_MOD)),
    "msr_modifiers": ("array", ("object", REG_MOD)),
    "reg_modifiers": ("array", ("object", REG_MOD)),
    "vcpu_features": ("array", ("object", VCPU_FEATURES)),
})

LOG_LEVELS = {"off": "Off", "trace": "Trace", "debug": "Debug", "info": "Info",
              "warn": "Warn", "warning": "Warn", "error": "Error"}
LEVEL_RANK = {"Off": 0, "Error": 1, "Warn": 2, "Info": 3, "Debug": 4, "Trace": 5}


def check_value(value, ftype, fname):
    """Checks one non-null field value against its declared type; returns the value."""
    if isinstance(ftype, str):
        if ftype == "string":
            if not isinstance(value, str):
                raise SerdeError("invalid type: %s, expected a string" % describe_value(value))
        elif ftype == "bool":
            if not isinstance(value, bool):
                raise SerdeError("invalid type: %s, expected a boolean" % describe_value(value))
        elif ftype in INT_RANGES:
            if isinstance(value, bool) or not isinstance(value, int):
                raise SerdeError("invalid type: %s, expected %s" % (describe_value(value), ftype))
            lo, hi = INT_RANGES[ftype]
            if not lo <= value <= hi:
                raise SerdeError("invalid value: integer `%d`, expected %s" % (value, ftype))
        elif ftype == "loglevel":
            if not isinstance(value, str):
                raise SerdeError("invalid type: %s, expected a string" % describe_value(value))
            if value.lower() not in LOG_LEVELS:
                raise SerdeError("Invalid LevelFilter")
            return LOG_LEVELS[value.lower()]
        else:  # pragma: no cover - schema typo
            raise AssertionError("unknown type " + ftype)
        return value
    kind = ftype[0]
    if kind == "enum":
        variants = ftype[1]
        if not isinstance(value, str):
            raise SerdeError("invalid type: %s, expected a string" % describe_value(value))
        if value not in variants:
            raise SerdeError("unknown variant `%s`, expected one of %s"
                             % (value, ", ".join("`%s`" % v for v in variants)))
        return value
    if kind == "object":
        return check_struct(value, ftype[1])
    if kind == "array":
        if not isinstance(value, list):
            raise SerdeError("invalid type: %s, expected a sequence" % describe_value(value))
        return [check_value(item, ftype[1], fname) for item in value]
    raise AssertionError("unknown type kind %r" % (kind,))  # pragma: no cover


def check_struct(obj, schema):
    """serde-like struct check: unknown fields, types (in document order), then missing fields."""
    if not isinstance(obj, dict):
        raise SerdeError("invalid type: %s, expected struct %s" % (describe_value(obj), schema["name"]))
    fields = schema["fields"]
    out = {}
    for key, value in obj.items():
        if key not in fields:
            if schema["deny"]:
                raise SerdeError("unknown field `%s`, expected one of %s"
                                 % (key, ", ".join("`%s`" % f for f in fields)))
            continue
        if value is None:
            if key in schema["required"]:
                ftype = fields[key]
                expected = {"string": "a string", "bool": "a boolean"}.get(ftype, str(ftype))
                raise SerdeError("invalid type: null, expected %s" % expected)
            continue  # Option<T> accepts null as None
        out[key] = check_value(value, fields[key], key)
    for key in schema["required"]:
        if key not in obj:
            raise SerdeError("missing field `%s`" % key)
    return out


def _no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise SerdeError("duplicate field `%s`" % k)
        seen[k] = v
    return seen


def _bad_constant(name):
    raise SerdeError("expected value")


def parse_json(raw):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SerdeError("invalid unicode code point")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_bad_constant)
    except json.JSONDecodeError as e:
        raise SerdeError("%s at line %d column %d" % (e.msg, e.lineno, e.colno))


def checked_id(raw_id):
    if raw_id is None or raw_id == "":
        raise ApiError("The ID cannot be empty.")
    if not all(c == "_" or c.isalnum() for c in raw_id):
        raise ApiError("API Resource IDs can only contain alphanumeric characters and underscores.")
    return raw_id


MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
LINK_LOCAL_RE = re.compile(
    r"^169\.254\.([1-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-4])\."
    r"([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])$")


# --------------------------------------------------------------------------------------------
# The VMM model
# --------------------------------------------------------------------------------------------
def default_machine_config():
    return {"vcpu_count": 1, "mem_size_mib": 128, "smt": False, "track_dirty_pages": False,
            "huge_pages": "None"}


class Vmm:
    def __init__(self, instance_id, enable_pci=False, mmds_limit=DEFAULT_PAYLOAD_LIMIT):
        self.id = instance_id
        self.enable_pci = enable_pci
        self.mmds_limit = mmds_limit
        self.state = "Not started"
        self.boot_path = False   # a boot-specific resource was configured (blocks snapshot load)
        self.machine = default_machine_config()
        self.boot_source = None
        self.drives = []         # ordered, root first
        self.nets = []
        self.logger_cfg = None
        self.log_file = None
        self.log_level = "Info"
        self.show_level = False
        self.show_origin = False
        self.metrics_cfg = None
        self.metrics_file = None
        self.serial_cfg = None
        self.vsock = None
        self.balloon = None
        self.entropy = None
        self.cpu_config = None
        self.mmds_config = None
        self.mmds_data = None
        self.pmem = []
        self.memory_hotplug = None
        self.console_fd = None   # serial_out_path fd after boot; None means stdout
        self.exit_event = None   # set by main(): (code) -> None, to stop the process

    # ---- logging (the VMM's own log, not the guest console) ----
    def log(self, level, msg, thread="fc_api"):
        if LEVEL_RANK.get(level, 3) > LEVEL_RANK[self.log_level] or self.log_level == "Off":
            return
        now = datetime.now()
        ts = now.strftime("%Y-%m-%dT%H:%M:%S.") + "%09d" % (now.microsecond * 1000)
        tag = "%s:%s" % (self.id, thread)
        if self.show_level:
            tag += ":" + {"Warn": "WARN"}.get(level, level.upper())
        if self.show_origin:
            tag += ":fake_firecracker.py:0"
        line = "%s [%s] %s\n" % (ts, tag, msg)
        try:
            if self.log_file is not None:
                os.write(self.log_file, line.encode())
            else:
                write_stdout(line)
        except OSError:
            pass

    # ---- configuration pieces shared by the API and --config-file ----
    def set_logger(self, cfg, from_flags=False):
        if self.logger_cfg is not None:
            # docs/logger.md: the logger can be configured only once (flags or API).
            raise ApiError("Logger error: Reinitialization of logger not allowed.")
        fd = None
        if "log_path" in cfg:
            try:
                # Firecracker opens read+write with O_NONBLOCK and WITHOUT O_CREAT.
                fd = os.open(cfg["log_path"], os.O_RDWR | os.O_NONBLOCK | os.O_APPEND)
            except OSError as e:
                raise ApiError("Logger error: Failed to open target file: %s: %s"
                               % (os_error_text(e), cfg["log_path"]))
        self.logger_cfg = dict(cfg)
        self.log_file = fd
        self.log_level = cfg.get("level", "Info")
        self.show_level = cfg.get("show_level", False)
        self.show_origin = cfg.get("show_log_origin", False)
        self.log("Info", "Running Firecracker v%s" % FC_VERSION, thread="main")

    def set_metrics(self, cfg):
        if self.metrics_cfg is not None:
            raise ApiError("Metrics error: Reinitialization of metrics not allowed.")
        try:
            fd = os.open(cfg["metrics_path"], os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | os.O_APPEND,
                         0o644)
        except OSError as e:
            raise ApiError("Metrics error: Cannot initialize the metrics system: %s: %s"
                           % (os_error_text(e), cfg["metrics_path"]))
        self.metrics_cfg = dict(cfg)
        self.metrics_file = fd

    def flush_metrics(self):
        if self.metrics_file is None:
            return
        line = json.dumps({"utc_timestamp_ms": int(time.time() * 1000),
                           "fake_firecracker": {"state": self.state}}) + "\n"
        try:
            os.write(self.metrics_file, line.encode())
        except OSError:
            pass

    def set_boot_source(self, cfg):
        self.boot_path = True
        kernel = cfg["kernel_image_path"]
        try:
            with open(kernel, "rb"):
                pass
        except OSError as e:
            raise ApiError("Boot source error: The kernel file cannot be opened: %s: %s"
                           % (os_error_text(e), kernel))
        if "initrd_path" in cfg:
            try:
                with open(cfg["initrd_path"], "rb"):
                    pass
            except OSError as e:
                raise ApiError("Boot source error: The initrd file cannot be opened due to invalid "
                               "path or invalid permissions. %s: %s"
                               % (os_error_text(e), cfg["initrd_path"]))
        args = cfg.get("boot_args")
        if args is not None:
            if len(args) >= CMDLINE_MAX_SIZE:
                raise ApiError("Boot source error: The kernel command line is invalid: "
                               "Command line string too large")
            if any(ord(c) < 32 or ord(c) > 126 for c in args):
                raise ApiError("Boot source error: The kernel command line is invalid: "
                               "String contains an invalid ASCII character")
        self.boot_source = dict(cfg)

    def update_machine_config(self, cfg, full):
        self.boot_path = True
        new = default_machine_config() if full else dict(self.machine)
        new.update(cfg)
        vcpus = new["vcpu_count"]
        if vcpus == 0 or vcpus > MAX_VCPUS or (new.get("smt") and vcpus > 1 and vcpus % 2 == 1):
            raise ApiError("Machine config error: The number of vCPUs must be greater than 0, less "
                           "than %d and must be 1 or an even number if SMT is enabled." % MAX_VCPUS)
        mem = new["mem_size_mib"]
        if mem == 0 or (new.get("huge_pages") == "2M" and mem % 2 != 0):
            raise ApiError("Machine config error: The memory size (MiB) is either 0, or not a "
                           "multiple of the configured page size.")
        if self.balloon is not None and self.balloon["amount_mib"] > mem:
            raise ApiError("Machine config error: The memory size (MiB) is smaller than the "
                           "previously set balloon device target size.")
        if new.get("cpu_template") == "None":
            new.pop("cpu_template")
        self.machine = new

    def insert_drive(self, cfg):
        self.boot_path = True
        vhost = "socket" in cfg
        if vhost:
            extra = [f for f in ("path_on_host", "is_read_only", "io_engine", "rate_limiter")
                     if f in cfg]
            if extra:
                raise ApiError("Drive config error: Unable to create the block device: vhost-user-"
                               "block config must not contain: %s" % ", ".join(extra))
            if not os.path.exists(cfg["socket"]):
                raise ApiError("Drive config error: Unable to create the block device: cannot "
                               "connect to the vhost-user socket: %s: %s"
                               % (os_error_text(OSError(errno.ENOENT, "")), cfg["socket"]))
        else:
            # yaml: path_on_host and is_read_only are required for a virtio-block drive.
            missing = [f for f in ("path_on_host", "is_read_only") if f not in cfg]
            if missing:
                raise ApiError("Drive config error: Unable to create the block device: a virtio-"
                               "block drive needs %s (or `socket` for vhost-user-block)"
                               % " and ".join("`%s`" % m for m in missing))
        pos = next((i for i, d in enumerate(self.drives) if d["drive_id"] == cfg["drive_id"]), None)
        has_root = bool(self.drives) and self.drives[0]["is_root_device"]
        if cfg["is_root_device"] and has_root and pos != 0:
            raise ApiError("Drive config error: A root block device already exists!")
        if not vhost:
            path = cfg["path_on_host"]
            mode = os.O_RDONLY if cfg["is_read_only"] else os.O_RDWR
            try:
                os.close(os.open(path, mode))
            except OSError as e:
                raise ApiError("Drive config error: Unable to create the block device: Virtio "
                               "backend error: Error manipulating the backing file: %s %s"
                               % (os_error_text(e), path))
        drive = dict(cfg)
        if pos is None:
            if cfg["is_root_device"]:
                self.drives.insert(0, drive)
            else:
                self.drives.append(drive)
        else:
            self.drives[pos] = drive
            if cfg["is_root_device"] and pos != 0:
                self.drives.insert(0, self.drives.pop(pos))

    def insert_net(self, cfg):
        self.boot_path = True
        name = cfg["host_dev_name"]
        mac = cfg.get("guest_mac")
        if mac is not None and not MAC_RE.match(mac):
            raise SerdeError("invalid MAC address: %s" % mac)
        if "mtu" in cfg and not 68 <= cfg["mtu"] <= 65535:
            raise ApiError("Network config error: Could not create the network device: MTU %d is "
                           "out of range 68..65535" % cfg["mtu"])
        for other in self.nets:
            if other["iface_id"] == cfg["iface_id"]:
                continue
            if mac is not None and other.get("guest_mac", "").lower() == mac.lower():
                raise ApiError("Network config error: The MAC address is already in use: %s" % mac)
            if other["host_dev_name"] == name:
                raise ApiError("Network config error: Could not create the network device: Open "
                               "tap device failed: Error while creating ifreq structure: Resource "
                               "busy (os error 16). Invalid TUN/TAP Backend provided by %s. "
                               "Check our documentation on setting up the network devices." % name)
        if not name or len(name.encode()) > 15 or "/" in name or name in (".", ".."):
            raise ApiError("Network config error: Could not create the network device: Open tap "
                           "device failed: Invalid interface name. Invalid TUN/TAP Backend provided "
                           "by %s. Check our documentation on setting up the network devices." % name)
        if os.environ.get("FAKE_FC_REQUIRE_TAP") == "1" and \
                not os.path.exists(os.path.join("/sys/class/net", name)):
            raise ApiError("Network config error: Could not create the network device: Open tap "
                           "device failed: No such device (os error 19). Invalid TUN/TAP Backend "
                           "provided by %s. Check our documentation on setting up the network "
                           "devices." % name)
        pos = next((i for i, n in enumerate(self.nets) if n["iface_id"] == cfg["iface_id"]), None)
        if pos is None:
            self.nets.append(dict(cfg))
        else:
            self.nets[pos] = dict(cfg)

    def set_vsock(self, cfg):
        self.boot_path = True
        if cfg["guest_cid"] < 3:
            raise ApiError("Vsock config error: Cannot create backend for vsock device: invalid "
                           "guest CID %d (must be >= 3)" % cfg["guest_cid"])
        uds = cfg["uds_path"]
        parent = os.path.dirname(os.path.abspath(uds))
        if not os.path.isdir(parent):
            raise ApiError("Vsock config error: Cannot create backend for vsock device: "
                           "UnixBind(%s): %s" % (os_error_text(OSError(errno.ENOENT, "")), uds))
        if os.path.exists(uds) and (self.vsock is None or self.vsock["uds_path"] != uds):
            raise ApiError("Vsock config error: Cannot create backend for vsock device: "
                           "UnixBind(%s): %s" % (os_error_text(OSError(errno.EADDRINUSE, "")), uds))
        self.vsock = dict(cfg)

    def set_pmem(self, cfg):
        self.boot_path = True
        try:
            os.close(os.open(cfg["path_on_host"],
                             os.O_RDONLY if cfg.get("read_only") else os.O_RDWR))
        except OSError as e:
            raise ApiError("Pmem config error: Cannot open the backing file: %s %s"
                           % (os_error_text(e), cfg["path_on_host"]))
        if cfg.get("root_device"):
            if any(d["is_root_device"] for d in self.drives) or \
                    any(p.get("root_device") and p["id"] != cfg["id"] for p in self.pmem):
                raise ApiError("Pmem config error: A root device already exists!")
        self.pmem = [p for p in self.pmem if p["id"] != cfg["id"]] + [dict(cfg)]

    def set_mmds_config(self, cfg):
        if not cfg["network_interfaces"]:
            raise ApiError("MMDS config error: The list of network interface IDs that allow "
                           "forwarding MMDS requests is empty.")
        known = {n["iface_id"] for n in self.nets}
        if any(i not in known for i in cfg["network_interfaces"]):
            raise ApiError("MMDS config error: The list of network interface IDs provided contains "
                           "at least one ID that does not correspond to any existing network "
                           "interface.")
        if "ipv4_address" in cfg and not LINK_LOCAL_RE.match(cfg["ipv4_address"]):
            raise ApiError("MMDS config error: The MMDS IPv4 address is not link local.")
        self.mmds_config = dict(cfg)

    # ---- boot ----
    def kernel_cmdline(self):
        args = self.boot_source.get("boot_args", DEFAULT_BOOT_ARGS)
        parts = [args]
        root = self.drives[0] if self.drives and self.drives[0]["is_root_device"] else None
        if root is not None:
            ro = "ro" if root.get("is_read_only") else "rw"
            if "partuuid" in root:
                parts.append("root=PARTUUID=%s %s" % (root["partuuid"], ro))
            else:
                parts.append("root=/dev/vda %s" % ro)
        if not self.enable_pci:
            parts.append("pci=off")
            base, irq = 0xd0000000, 5
            for _ in range(len(self.drives) + len(self.nets) + (self.vsock is not None)
                           + (self.balloon is not None) + (self.entropy is not None)):
                parts.append("virtio_mmio.device=4K@0x%x:%d" % (base, irq))
                base += 0x1000
                irq += 1
        return " ".join(parts)

    def start(self):
        if self.boot_source is None:
            raise ApiError("Start microvm error: Cannot start microvm without kernel configuration.")
        kernel = self.boot_source["kernel_image_path"]
        if not os.path.isfile(kernel):
            raise ApiError("Start microvm error: Cannot load kernel due to invalid memory "
                           "configuration or invalid kernel image: %s" % kernel)
        for d in self.drives:
            if "path_on_host" in d and not os.path.exists(d["path_on_host"]):
                raise ApiError("Start microvm error: Cannot open the block device backing file: "
                               "%s %s" % (os_error_text(OSError(errno.ENOENT, "")),
                                          d["path_on_host"]))
        console_fd = None
        if self.serial_cfg and "serial_out_path" in self.serial_cfg:
            path = self.serial_cfg["serial_out_path"]
            try:
                console_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | os.O_APPEND,
                                     0o644)
            except OSError as e:
                raise ApiError("Start microvm error: Error configuring the serial device: %s: %s"
                               % (os_error_text(e), path))
        self.state = "Running"
        self.log("Info", "Successfully started microvm", thread="fc_vmm")
        self.write_console(self.boot_banner(), console_fd)
        self.console_fd = console_fd
        after = os.environ.get("FAKE_FC_GUEST_EXIT_AFTER")
        if after:
            def guest_reboot():
                self.write_console(["reboot: Restarting system"], self.console_fd)
                self.log("Info", "Vmm is stopping.", thread="fc_vmm")
                if self.exit_event:
                    self.exit_event(EXIT_OK)
            t = threading.Timer(float(after), guest_reboot)
            t.daemon = True
            t.start()

    def console_enabled(self):
        args = self.boot_source.get("boot_args", DEFAULT_BOOT_ARGS)
        return "console=ttyS0" in args.split() and "8250.nr_uarts=0" not in args.split()

    def boot_banner(self):
        cmdline = self.kernel_cmdline()
        lines = [
            "[    0.000000] Linux version 6.1.0-fake (fake-firecracker@vmutils) (gcc) #1 SMP",
            "[    0.000000] Command line: %s" % cmdline,
            "[    0.000000] fake-firecracker: id=%s vcpus=%d mem=%dMiB drives=%s nets=%s"
            % (self.id, self.machine["vcpu_count"], self.machine["mem_size_mib"],
               ",".join(d["drive_id"] for d in self.drives) or "-",
               ",".join(n["iface_id"] for n in self.nets) or "-"),
        ]
        if self.drives and self.drives[0]["is_root_device"]:
            lines.append("[    0.400000] VFS: Mounted root (ext4 filesystem) on device 254:0.")
        lines.append("[    0.500000] Run /sbin/init as init process")
        lines.append("fake-firecracker guest ready")
        return lines

    def write_console(self, lines, fd):
        if not self.console_enabled():
            return  # no console=ttyS0 (or 8250.nr_uarts=0): the guest has no serial console
        data = "".join(l + "\r\n" for l in lines).encode()
        try:
            if fd is not None:
                os.write(fd, data)
            else:
                write_stdout(data.decode())
        except OSError:
            pass

    def full_config(self):
        return {
            "balloon": self.balloon,
            "drives": self.drives,
            "boot-source": self.boot_source or {},
            "cpu-config": self.cpu_config,
            "logger": self.logger_cfg,
            "machine-config": self.machine,
            "metrics": self.metrics_cfg,
            "memory-hotplug": self.memory_hotplug,
            "mmds-config": self.mmds_config,
            "network-interfaces": self.nets,
            "pmem": self.pmem,
            "vsock": self.vsock,
            "entropy": self.entropy,
        }


STDOUT_LOCK = threading.Lock()


def write_stdout(text):
    with STDOUT_LOCK:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except (OSError, ValueError):
            pass


# --------------------------------------------------------------------------------------------
# Request dispatch (mirrors parsed_request.rs + rpc_interface.rs)
# --------------------------------------------------------------------------------------------
def handle(vmm, method, raw_path, body):
    """Returns (status, json_obj_or_None, extra_headers). Raises ApiError."""
    path = raw_path.split("?", 1)[0]
    tokens = [t for t in path.lstrip("/").split("/")]
    if tokens and tokens[-1] == "":
        tokens.pop()  # split_terminator: a trailing '/' is ignored
    first = tokens[0] if tokens else ""
    rest = tokens[1:]
    has_body = body is not None and len(body) > 0

    def invalid():
        raise ApiError("Invalid request method and/or path: %s %s." % (method, first))

    def want_no_extra(n=0):
        if len(rest) > n:
            invalid()

    started = vmm.state != "Not started"

    if method == "GET":
        if has_body:
            raise ApiError("GET request cannot have a body.")
        if first == "" and not rest:
            return 200, {"id": vmm.id, "state": vmm.state, "vmm_version": FC_VERSION,
                         "app_name": APP_NAME}, {}
        if first == "version" and not rest:
            return 200, {"firecracker_version": FC_VERSION}, {}
        if first == "machine-config" and not rest:
            return 200, vmm.machine, {}
        if first == "vm" and rest == ["config"]:
            return 200, vmm.full_config(), {}
        if first == "mmds" and not rest:
            return 200, vmm.mmds_data if vmm.mmds_data is not None else {}, {}
        if first == "balloon":
            if vmm.balloon is None:
                raise ApiError("Balloon config error: No balloon device found.")
            if not rest:
                return 200, vmm.balloon, {}
            if rest == ["statistics"]:
                if not vmm.balloon.get("stats_polling_interval_s"):
                    raise ApiError("Balloon config error: Statistics for the balloon device are "
                                   "not enabled")
                mib = vmm.balloon["amount_mib"]
                return 200, {"target_pages": mib * 256, "actual_pages": mib * 256,
                             "target_mib": mib, "actual_mib": mib}, {}
            if rest == ["hinting", "status"]:
                if not vmm.balloon.get("free_page_hinting"):
                    raise ApiError("Balloon config error: Free page hinting is not enabled")
                return 200, {"host_cmd": 0}, {}
            invalid()
        if first == "hotplug" and rest == ["memory"]:
            if vmm.memory_hotplug is None:
                raise ApiError("Memory hotplug error: The memory hotplug device is not configured")
            st = dict(vmm.memory_hotplug)
            st.setdefault("plugged_size_mib", 0)
            st.setdefault("requested_size_mib", 0)
            return 200, st, {}
        invalid()

    if method not in ("PUT", "PATCH"):
        invalid()

    # PUT / PATCH -------------------------------------------------------------------------
    known_put = {"actions", "balloon", "boot-source", "cpu-config", "drives", "pmem", "logger",
                 "serial", "machine-config", "metrics", "mmds", "network-interfaces", "snapshot",
                 "vsock", "entropy", "hotplug"}
    known_patch = {"balloon", "drives", "machine-config", "mmds", "network-interfaces", "vm",
                   "hotplug", "pmem"}
    if method == "PUT" and first not in known_put:
        invalid()
    if method == "PATCH" and first not in known_patch:
        invalid()
    if first == "hotplug" and rest[:1] != ["memory"]:
        invalid()
    if not has_body:
        if method == "PATCH" and first == "balloon":
            pass  # PATCH /balloon/hinting/{start,stop} may come without a body
        else:
            raise ApiError("Empty %s request." % method)

    headers = {}
    cfg = parse_json(body) if has_body else None

    if method == "PUT":
        if first == "actions":
            want_no_extra()
            a = check_struct(cfg, ACTION)["action_type"]
            if a == "InstanceStart":
                if started:
                    raise ApiError(NOT_AFTER_BOOT)
                vmm.start()
            elif a == "SendCtrlAltDel":
                if not started:
                    raise ApiError(NOT_BEFORE_BOOT)
                vmm.log("Info", "Sending CTRL+ALT+DEL to the guest", thread="fc_vmm")
                args = vmm.boot_source.get("boot_args", DEFAULT_BOOT_ARGS)
                if "reboot=k" in args.split() and vmm.exit_event:
                    # i8042 reset: the guest reboots and Firecracker exits (FAQ).
                    def reboot():
                        vmm.write_console(["reboot: Restarting system"],
                                          vmm.console_fd)
                        vmm.exit_event(EXIT_OK)
                    t = threading.Timer(0.1, reboot)
                    t.daemon = True
                    t.start()
            else:  # FlushMetrics
                if not started:
                    raise ApiError(NOT_BEFORE_BOOT)
                vmm.flush_metrics()
            return 204, None, headers
        if first == "boot-source":
            want_no_extra()
            c = check_struct(cfg, BOOT_SOURCE)
            if started:
                raise ApiError(NOT_AFTER_BOOT)
            vmm.set_boot_source(c)
            return 204, None, headers
        if first == "machine-config":
            want_no_extra()
            c = check_struct(cfg, MACHINE_CONFIG)
            if "cpu_template" in c:
                headers["Deprecation"] = "true"
            if started:
                raise ApiError(NOT_AFTER_BOOT)
            vmm.update_machine_config(c, full=True)
            return 204, None, headers
        if first == "drives":
            want_no_extra(1)
            rid = checked_id(rest[0] if rest else None)
            c = check_struct(cfg, DRIVE)
            if c["drive_id"] != rid:
                raise ApiError("The id from the path does not match the id from the body!")
            if started:
                raise ApiError(NOT_AFTER_BOOT)
            vmm.insert_drive(c)
            return 204, None, headers
        if first == "network-interfaces":
            want_no_extra(1)
            rid = checked_id(rest[0] if rest else None)
            c = check_struct(cfg, NET)
            if c["iface_id"] != rid:
                raise ApiError("The id from the path does not match the id from the body!")
            if "guest_mac" in c and not MAC_RE.match(c["guest_mac"]):
                raise SerdeError("invalid MAC address: %s" % c["guest_mac"])
            if started:
                raise ApiError(NOT_AFTER_BOOT)
            vmm.insert_net(c)
            return 204, None, headers
        if first == "pmem":
            want_no_extra(1)
            rid = checked_id(rest[0] if rest else None)
            c = check_struct(cfg, PMEM)
            if c["id"] != rid:
                raise ApiError("The id from the path does not match the id from the body!")
            if started:
                raise ApiError(NOT_AFTER_BOOT)
            vmm.set_pmem(c)
            return 204, None, headers
        if first == "logger":
            want_no_extra()
            c = check_struct(cfg, LOGGER)
            if started:
                raise ApiError(NOT_AFTER_BOOT)
            vmm.set_logger(c)
            return 204, None, headers
        if first == "metrics":
            want_no_extra()
            c = check_struct(cfg, METRICS)
            if started:
                raise ApiError(NOT_AFTER_BOOT)
            vmm.set_metrics(c)
            return 204, None, headers
        if first == "serial":
            want_no_extra()
            c = check_struct(cfg, SERIAL)
            if started:
                raise ApiError(NOT_AFTER_BOOT)
            vmm.serial_cfg = c
            return 204, None, headers
        if first == "vsock":
            want_no_extra()
            c = check_struct(cfg, VSOCK)
            if "vsock_id" in c:
                headers["Deprecation"] = "true"
            if started:
                raise ApiError(NOT_AFTER_BOOT)
            vmm.set_vsock(c)
            return 204, None, headers
        if first == "entropy":
            want_no_extra()
            c = check_struct(cfg, ENTROPY)
            if started:
                raise ApiError(NOT_AFTER_BOOT)
            vmm.boot_path = True
            vmm.entropy = c
            return 204, None, headers
        if first == "cpu-config":
            want_no_extra()
            c = check_struct(cfg, CPU_CONFIG)
            if started:
                raise ApiError(NOT_AFTER_BOOT)
            vmm.cpu_config = c
            return 204, None, headers
        if first == "balloon":
            want_no_extra()
            c = check_struct(cfg, BALLOON)
            if started:
                raise ApiError(NOT_AFTER_BOOT)
            if c["amount_mib"] > vmm.machine["mem_size_mib"]:
                raise ApiError("Balloon config error: Amount of pages requested cannot be greater "
                               "than the memory size.")
            vmm.boot_path = True
            vmm.balloon = c
            return 204, None, headers
        if first == "mmds":
            if rest == ["config"]:
                c = check_struct(cfg, MMDS_CONFIG)
                if started:
                    raise ApiError(NOT_AFTER_BOOT)
                vmm.set_mmds_config(c)
                return 204, None, headers
            want_no_extra()
            if not isinstance(cfg, dict):
                raise ApiError("MMDS error: The MMDS data store content must be a JSON object.")
            if len(body) > vmm.mmds_limit:
                raise ApiError("MMDS limit exceeded error: The MMDS patch request doesn't fit.",
                               status=413)
            vmm.mmds_data = cfg
            return 204, None, headers
        if first == "hotplug":
            want_no_extra(1)
            c = check_struct(cfg, MEMORY_HOTPLUG)
            if started:
                raise ApiError(NOT_AFTER_BOOT)
            if "total_size_mib" not in c:
                raise ApiError("Memory hotplug error: total_size_mib is required")
            if c.get("slot_size_mib", 128) < 128 or c.get("block_size_mib", 2) < 2:
                raise ApiError("Memory hotplug error: slot_size_mib must be >= 128 and "
                               "block_size_mib >= 2")
            vmm.memory_hotplug = c
            return 204, None, headers
        if first == "snapshot":
            want_no_extra(1)
            if rest == ["create"]:
                c = check_struct(cfg, SNAPSHOT_CREATE)
                if not started:
                    raise ApiError(NOT_BEFORE_BOOT)
                if vmm.state != "Paused":
                    raise ApiError("Create snapshot error: Cannot save the microVM state: the "
                                   "microVM must be paused.")
                for p in (c["snapshot_path"], c["mem_file_path"]):
                    try:
                        with open(p, "w") as f:
                            f.write("fake-firecracker snapshot placeholder\n")
                    except OSError as e:
                        raise ApiError("Create snapshot error: %s: %s" % (os_error_text(e), p))
                return 204, None, headers
            if rest == ["load"]:
                c = check_struct(cfg, SNAPSHOT_LOAD)
                if started:
                    raise ApiError(NOT_AFTER_BOOT)
                if vmm.boot_path:
                    raise ApiError("Load snapshot error: Loading a microVM snapshot not allowed "
                                   "after configuring boot-specific resources.")
                if ("mem_file_path" in c) == ("mem_backend" in c):
                    raise SerdeError("either mem_backend or mem_file_path must be specified")
                if not os.path.isfile(c["snapshot_path"]):
                    raise ApiError("Load snapshot error: Failed to restore from snapshot: %s %s"
                                   % (os_error_text(OSError(errno.ENOENT, "")), c["snapshot_path"]))
                vmm.state = "Running" if c.get("resume_vm") else "Paused"
                return 204, None, headers
            invalid()
    else:  # PATCH
        if first == "machine-config":
            want_no_extra()
            c = check_struct(cfg, MACHINE_CONFIG_UPDATE)
            if not c:
                raise ApiError("Empty PATCH request.")
            if started:
                raise ApiError(NOT_AFTER_BOOT)
            vmm.update_machine_config(c, full=False)
            return 204, None, headers
        if first == "drives":
            want_no_extra(1)
            rid = checked_id(rest[0] if rest else None)
            c = check_struct(cfg, PARTIAL_DRIVE)
            if c["drive_id"] != rid:
                raise ApiError("The id from the path does not match the id from the body!")
            if not started:
                raise ApiError(NOT_BEFORE_BOOT)
            d = next((d for d in vmm.drives if d["drive_id"] == rid), None)
            if d is None:
                raise ApiError("Drive config error: Unable to patch the block device: Invalid "
                               "block device ID: %s" % rid)
            if "path_on_host" in c:
                if not os.path.exists(c["path_on_host"]):
                    raise ApiError("Drive config error: Unable to patch the block device: %s %s"
                                   % (os_error_text(OSError(errno.ENOENT, "")), c["path_on_host"]))
                d["path_on_host"] = c["path_on_host"]
            if "rate_limiter" in c:
                d["rate_limiter"] = c["rate_limiter"]
            return 204, None, headers
        if first == "network-interfaces":
            want_no_extra(1)
            rid = checked_id(rest[0] if rest else None)
            c = check_struct(cfg, PARTIAL_NET)
            if c["iface_id"] != rid:
                raise ApiError("The id from the path does not match the id from the body!")
            if not started:
                raise ApiError(NOT_BEFORE_BOOT)
            n = next((n for n in vmm.nets if n["iface_id"] == rid), None)
            if n is None:
                raise ApiError("Network config error: Unable to update the net device: Invalid "
                               "network interface ID - not found: %s" % rid)
            n.update(c)
            return 204, None, headers
        if first == "pmem":
            want_no_extra(1)
            rid = checked_id(rest[0] if rest else None)
            c = check_struct(cfg, PARTIAL_PMEM)
            if c["id"] != rid:
                raise ApiError("The id from the path does not match the id from the body!")
            if not started:
                raise ApiError(NOT_BEFORE_BOOT)
            if not any(p["id"] == rid for p in vmm.pmem):
                raise ApiError("Pmem config error: Invalid pmem device ID: %s" % rid)
            return 204, None, headers
        if first == "vm":
            want_no_extra()
            c = check_struct(cfg, VM_STATE)
            if not started:
                raise ApiError(NOT_BEFORE_BOOT)
            vmm.state = "Paused" if c["state"] == "Paused" else "Running"
            return 204, None, headers
        if first == "mmds":
            want_no_extra()
            if not isinstance(cfg, dict):
                raise ApiError("MMDS error: The MMDS data store content must be a JSON object.")
            if vmm.mmds_data is None:
                raise ApiError("MMDS error: The MMDS data store is not initialized.")
            merged = json_merge_patch(vmm.mmds_data, cfg)
            if len(json.dumps(merged)) > vmm.mmds_limit:
                raise ApiError("MMDS limit exceeded error: The MMDS patch request doesn't fit.",
                               status=413)
            vmm.mmds_data = merged
            return 204, None, headers
        if first == "balloon":
            if vmm.balloon is None and not (rest and rest[0] == "hinting"):
                if cfg is None:
                    raise ApiError("Empty PATCH request.")
            if not rest:
                c = check_struct(cfg, BALLOON_UPDATE)
                if vmm.balloon is None:
                    raise ApiError("Balloon config error: No balloon device found.")
                if c["amount_mib"] > vmm.machine["mem_size_mib"]:
                    raise ApiError("Balloon config error: Amount of pages requested cannot be "
                                   "greater than the memory size.")
                vmm.balloon["amount_mib"] = c["amount_mib"]
                return 204, None, headers
            if rest == ["statistics"]:
                c = check_struct(cfg, BALLOON_STATS_UPDATE)
                if vmm.balloon is None:
                    raise ApiError("Balloon config error: No balloon device found.")
                if not vmm.balloon.get("stats_polling_interval_s") or \
                        not c["stats_polling_interval_s"]:
                    raise ApiError("Balloon config error: Statistics cannot be turned on/off "
                                   "after boot.")
                vmm.balloon["stats_polling_interval_s"] = c["stats_polling_interval_s"]
                return 204, None, headers
            if rest in (["hinting", "start"], ["hinting", "stop"]):
                if rest[1] == "start" and cfg is not None:
                    check_struct(cfg, BALLOON_START_CMD)
                if vmm.balloon is None or not vmm.balloon.get("free_page_hinting"):
                    raise ApiError("Balloon config error: Free page hinting is not enabled.")
                if not started:
                    raise ApiError(NOT_BEFORE_BOOT)
                return 204, None, headers
            invalid()
        if first == "hotplug":
            want_no_extra(1)
            c = check_struct(cfg, MEMORY_HOTPLUG_UPDATE)
            if not started:
                raise ApiError(NOT_BEFORE_BOOT)
            if vmm.memory_hotplug is None:
                raise ApiError("Memory hotplug error: The memory hotplug device is not configured")
            req = c.get("requested_size_mib", 0)
            if req > vmm.memory_hotplug["total_size_mib"]:
                raise ApiError("Memory hotplug error: requested size exceeds total_size_mib")
            vmm.memory_hotplug["requested_size_mib"] = req
            vmm.memory_hotplug["plugged_size_mib"] = req
            return 204, None, headers
    invalid()


def json_merge_patch(target, patch):
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = json_merge_patch(out.get(k), v)
    return out


# --------------------------------------------------------------------------------------------
# HTTP server over the Unix socket
# --------------------------------------------------------------------------------------------
class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, path, vmm, payload_limit):
        self.vmm = vmm
        self.payload_limit = payload_limit
        self.api_lock = threading.Lock()  # Firecracker handles API requests one at a time
        super().__init__(path, Handler)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Firecracker API"
    sys_version = ""

    def version_string(self):
        return "Firecracker API"

    def log_message(self, fmt, *args):  # keep stderr quiet
        pass

    def address_string(self):
        return "unix"

    def _send(self, status, obj, headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if status == 204:
            self.end_headers()
            return
        data = json.dumps(obj).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self):
        vmm = self.server.vmm
        if self.headers.get("Transfer-Encoding"):
            self._send(400, {"fault_message": "Transfer-Encoding is not supported."})
            self.close_connection = True
            return
        length = self.headers.get("Content-Length")
        try:
            n = int(length) if length is not None else 0
            if n < 0:
                raise ValueError
        except ValueError:
            self._send(400, {"fault_message": "Invalid value. Key: Content-Length; Value: %s"
                             % length})
            self.close_connection = True
            return
        body = self.rfile.read(n) if n else b""
        if n > self.server.payload_limit:
            self._send(400, {"fault_message": "Request payload with size %d is larger than the "
                             "limit of %d allowed by server." % (n, self.server.payload_limit)})
            return
        method = self.command
        with self.server.api_lock:
            body_text = body.decode("utf-8", "replace")
            vmm.log("Info", "The API server received a %s request on %s%s."
                    % (method.capitalize(), json.dumps(self.path),
                       (" with body %s" % json.dumps(body_text))
                       if body and self.path.split("?")[0] != "/mmds" else ""))
            fail = injected_failure(self.path)
            headers = {}
            try:
                if fail:
                    raise ApiError(fail)
                status, obj, headers = handle(vmm, method, self.path, body if body else None)
            except ApiError as e:
                status, obj = e.status, {"fault_message": e.message}
                vmm.log("Error", "Received Error. Status code: %d %s. Message: %s"
                        % (status, "Bad Request" if status == 400 else "Payload too large",
                           e.message))
            else:
                vmm.log("Info", "The request was executed successfully. Status code: %s."
                        % ("204 No Content" if status == 204 else "200 OK"))
            record_request(method, self.path, body, status)
            self._send(status, obj, headers)

    do_GET = _dispatch
    do_PUT = _dispatch
    do_PATCH = _dispatch

    def __getattr__(self, name):
        # Any other method (POST, DELETE, HEAD, ...) gets Firecracker's 400 instead of
        # http.server's 501; the connection is closed afterwards (HEAD has no readable body).
        if name.startswith("do_"):
            def other():
                self._dispatch()
                self.close_connection = True
            return other
        raise AttributeError(name)


def injected_failure(path):
    spec = os.environ.get("FAKE_FC_FAIL")
    if not spec:
        return None
    p = path.split("?", 1)[0]
    for prefix in (s.strip() for s in spec.split(",")):
        if prefix and p.startswith(prefix):
            return "fake-firecracker: injected failure for %s (FAKE_FC_FAIL=%s)" % (p, prefix)
    return None


REQUEST_LOG_LOCK = threading.Lock()


def record_request(method, path, body, status):
    log = os.environ.get("FAKE_FC_REQUEST_LOG")
    if not log:
        return
    parsed = None
    if body:
        try:
            parsed = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            parsed = body.decode("utf-8", "replace")
    line = json.dumps({"method": method, "path": path, "body": parsed, "status": status})
    with REQUEST_LOG_LOCK:
        try:
            with open(log, "a") as f:
                f.write(line + "\n")
        except OSError:
            pass


# --------------------------------------------------------------------------------------------
# Command line (mirrors src/firecracker/src/main.rs, v1.16.1)
# --------------------------------------------------------------------------------------------
FLAGS_WITH_VALUE = {"api-sock", "id", "seccomp-filter", "start-time-us", "start-time-cpu-us",
                    "parent-cpu-time-us", "config-file", "log-path", "level", "module",
                    "metrics-path", "describe-snapshot", "http-api-max-payload-size",
                    "mmds-size-limit", "metadata"}
FLAGS_BOOL = {"no-seccomp", "no-api", "show-level", "show-log-origin", "boot-timer", "version",
              "help", "enable-pci"}

USAGE = """Firecracker v%s (fake-firecracker test double)

Usage: fake_firecracker.py [--api-sock PATH] [--id ID] [--config-file F] [--no-api]
         [--log-path P] [--level L] [--module M] [--show-level] [--show-log-origin]
         [--metrics-path P] [--boot-timer] [--enable-pci] [--seccomp-filter F | --no-seccomp]
         [--http-api-max-payload-size N] [--mmds-size-limit N] [--metadata F] [--version]
""" % FC_VERSION


def arg_error(msg):
    sys.stderr.write("Arguments parsing error: %s\n\nFor more information try --help.\n" % msg)
    sys.exit(EXIT_ARG_PARSING)


def parse_args(argv):
    args = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("--"):
            arg_error("Found argument '%s' which wasn't expected, or isn't valid in this context."
                      % a)
        name, eq, value = a[2:].partition("=")
        if name in FLAGS_BOOL:
            if eq:
                arg_error("Found argument '%s' which wasn't expected, or isn't valid in this "
                          "context." % a)
            if name in args:
                arg_error("The argument '%s' was provided more than once." % name)
            args[name] = True
        elif name in FLAGS_WITH_VALUE:
            if name in args:
                arg_error("The argument '%s' was provided more than once." % name)
            if not eq:
                if i + 1 >= len(argv) or argv[i + 1].startswith("--"):
                    arg_error("The argument '%s' requires a value, but none was supplied." % name)
                i += 1
                value = argv[i]
            args[name] = value
        else:
            arg_error("Found argument '%s' which wasn't expected, or isn't valid in this context."
                      % a)
        i += 1
    if "no-api" in args and "config-file" not in args:
        arg_error("Argument 'no-api' requires the argument 'config-file', but it was not found.")
    if "seccomp-filter" in args and "no-seccomp" in args:
        arg_error("Argument 'seccomp-filter' cannot be used together with 'no-seccomp'.")
    return args


def fatal(msg, code=EXIT_GENERIC):
    sys.stderr.write("Error: %s\n" % msg)
    sys.stderr.flush()
    sys.exit(code)


CONFIG_FILE_KEYS = {"boot-source", "drives", "machine-config", "network-interfaces", "logger",
                    "metrics", "mmds-config", "vsock", "balloon", "entropy", "cpu-config", "pmem",
                    "memory-hotplug"}


def configure_from_file(vmm, path):
    """--config-file: configure and boot; any error -> 'Error: BuildFromJson(...)', exit 1."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        fatal("Unable to read config file %s: %s" % (path, os_error_text(e)))
    try:
        cfg = parse_json(raw)
        if not isinstance(cfg, dict):
            raise SerdeError("invalid type: %s, expected struct VmmConfig" % describe_value(cfg))
        for k in cfg:
            if k not in CONFIG_FILE_KEYS:
                raise SerdeError("unknown field `%s`, expected one of %s"
                                 % (k, ", ".join("`%s`" % x for x in sorted(CONFIG_FILE_KEYS))))
        for k in ("boot-source", "drives"):
            if k not in cfg:
                raise SerdeError("missing field `%s`" % k)
        if "logger" in cfg and cfg["logger"] is not None:
            vmm.set_logger(check_struct(cfg["logger"], LOGGER))
        if "metrics" in cfg and cfg["metrics"] is not None:
            vmm.set_metrics(check_struct(cfg["metrics"], METRICS))
        if cfg.get("machine-config") is not None:
            vmm.update_machine_config(check_struct(cfg["machine-config"], MACHINE_CONFIG), True)
        vmm.set_boot_source(check_struct(cfg["boot-source"], BOOT_SOURCE))
        for d in check_value(cfg["drives"], ("array", ("object", DRIVE)), "drives"):
            vmm.insert_drive(d)
        for n in check_value(cfg.get("network-interfaces") or [], ("array", ("object", NET)), "n"):
            vmm.insert_net(n)
        if cfg.get("mmds-config") is not None:
            vmm.set_mmds_config(check_struct(cfg["mmds-config"], MMDS_CONFIG))
        if cfg.get("vsock") is not None:
            vmm.set_vsock(check_struct(cfg["vsock"], VSOCK))
        if cfg.get("balloon") is not None:
            vmm.balloon = check_struct(cfg["balloon"], BALLOON)
        if cfg.get("entropy") is not None:
            vmm.entropy = check_struct(cfg["entropy"], ENTROPY)
        if cfg.get("cpu-config") is not None:
            vmm.cpu_config = check_struct(cfg["cpu-config"], CPU_CONFIG)
        for p in check_value(cfg.get("pmem") or [], ("array", ("object", PMEM)), "pmem"):
            vmm.set_pmem(p)
        if cfg.get("memory-hotplug") is not None:
            vmm.memory_hotplug = check_struct(cfg["memory-hotplug"], MEMORY_HOTPLUG)
        vmm.start()
    except ApiError as e:
        fatal("BuildFromJson(%s)" % json.dumps(e.message))


def main(argv):
    code = os.environ.get("FAKE_FC_EXIT_AT_ONCE")
    if code:
        sys.stderr.write("Error: fake-firecracker exiting at once (FAKE_FC_EXIT_AT_ONCE=%s)\n" % code)
        sys.exit(int(code))

    args = parse_args(argv)
    if args.get("help"):
        sys.stdout.write(USAGE)
        return EXIT_OK
    if args.get("version"):
        sys.stdout.write("Firecracker v%s\n\n" % FC_VERSION)
        return EXIT_OK

    instance_id = args.get("id", "anonymous-instance")
    if not (1 <= len(instance_id) <= 64) or \
            not all(c == "-" or (c.isascii() and c.isalnum()) for c in instance_id):
        # Firecracker: validate_instance_id(..).expect("Invalid instance ID") with panic=abort.
        sys.stderr.write("thread 'main' panicked at src/firecracker/src/main.rs:\nInvalid instance "
                         "ID: InvalidChar / InvalidLen (%r)\n" % instance_id)
        sys.stderr.flush()
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        except (ValueError, OSError):
            pass
        signal.signal(signal.SIGABRT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGABRT)
        sys.exit(134)  # not reached

    def int_flag(name, default):
        if name not in args:
            return default
        try:
            return int(args[name])
        except ValueError:
            arg_error("Invalid value for '%s': %s" % (name, args[name]))

    payload_limit = int_flag("http-api-max-payload-size", DEFAULT_PAYLOAD_LIMIT)
    mmds_limit = int_flag("mmds-size-limit", payload_limit)
    vmm = Vmm(instance_id, enable_pci=bool(args.get("enable-pci")), mmds_limit=mmds_limit)

    if "describe-snapshot" in args:
        fatal("fake-firecracker does not simulate --describe-snapshot")

    # Logger from flags (same as PUT /logger; counts as the one-and-only configuration).
    if "level" in args and args["level"].lower() not in LOG_LEVELS:
        fatal("Invalid value for level: %s" % args["level"], EXIT_BAD_CONFIGURATION)
    logger_flags = {}
    if "log-path" in args:
        logger_flags["log_path"] = args["log-path"]
    if "level" in args:
        logger_flags["level"] = LOG_LEVELS[args["level"].lower()]
    if args.get("show-level"):
        logger_flags["show_level"] = True
    if args.get("show-log-origin"):
        logger_flags["show_log_origin"] = True
    if "module" in args:
        logger_flags["module"] = args["module"]
    if logger_flags:
        try:
            vmm.set_logger(logger_flags, from_flags=True)
        except ApiError as e:
            sys.stderr.write("Could not initialize logger: %s\n" % e.message)
            fatal("LoggerInitialization(%s)" % json.dumps(e.message))
    if not logger_flags:
        vmm.log("Info", "Running Firecracker v%s" % FC_VERSION, thread="main")  # to stdout
    if "metrics-path" in args:
        try:
            vmm.set_metrics({"metrics_path": args["metrics-path"]})
        except ApiError as e:
            fatal("MetricsInitialization(%s)" % json.dumps(e.message))
    if "metadata" in args:
        try:
            with open(args["metadata"], "rb") as f:
                md = parse_json(f.read())
        except OSError as e:
            fatal("Unable to read metadata file %s: %s" % (args["metadata"], os_error_text(e)))
        except ApiError as e:
            fatal("MmdsMetadata(%s)" % json.dumps(e.message))
        vmm.mmds_data = md

    done = threading.Event()
    exit_code = [EXIT_OK]

    def request_exit(code):
        exit_code[0] = code
        done.set()

    vmm.exit_event = request_exit

    def on_signal(signum, frame):
        request_exit(EXIT_OK)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    except (AttributeError, ValueError):
        pass

    if "config-file" in args:
        configure_from_file(vmm, args["config-file"])

    server = None
    sock_path = None
    if not args.get("no-api"):
        sock_path = args.get("api-sock", "/run/firecracker.socket")
        delay = os.environ.get("FAKE_FC_START_DELAY")
        if delay:
            if done.wait(float(delay)):
                return exit_code[0]
        if os.environ.get("FAKE_FC_NO_SOCKET") == "1":
            sys.stderr.write("fake-firecracker: FAKE_FC_NO_SOCKET=1: the API socket %s is not "
                             "created\n" % sock_path)
            sys.stderr.flush()
            sock_path = None
        else:
            if os.path.exists(sock_path) or os.path.islink(sock_path):
                fatal("Failed to open the API socket at: %s. Check that it is not already used."
                      % sock_path)
            try:
                server = Server(sock_path, vmm, payload_limit)
            except OSError as e:
                fatal("Failed to open the API socket at: %s. Check that it is not already used. "
                      "(%s)" % (sock_path, os_error_text(e)))
            t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                 name="fc_api", daemon=True)
            t.start()

    try:
        while not done.wait(0.2):
            pass
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        if sock_path and server is not None:
            try:
                os.unlink(sock_path)
            except OSError:
                pass
    return exit_code[0]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
