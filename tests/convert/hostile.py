"""Crafted hostile checkpoints: each one attacks a reader the way a stranger's file could.

`CASES` maps a file name to a function that writes the file into a folder.
The pickles are assembled with `HostilePickler`, which can name any global
and emit any opcode, so no attacking class has to exist in this process.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import sys
import zipfile
import zlib

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
MARKER = "pwned"  # a file that code run from a checkpoint would create


class G:
    """A global by name (`module.name`), written as a GLOBAL opcode."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name


class Call:
    """`func(*args)` as REDUCE, then BUILD with `state` if given."""

    def __init__(self, func: G, *args, state=None):
        self.func, self.args, self.state = func, args, state


class New:
    """`cls.__new__(cls, *args)` as NEWOBJ, then BUILD with `state`."""

    def __init__(self, cls: G, *args, state=None):
        self.cls, self.args, self.state = cls, args, state


class Raw:
    """Opcodes written as they are."""

    def __init__(self, data: bytes):
        self.data = data


class Storage:
    """A torch storage: pickled as a persistent id, its bytes written beside the pickle."""

    def __init__(self, key: str, data: bytes, numel: int, kind: str = "FloatStorage"):
        self.key, self.data, self.numel, self.kind = key, data, numel, kind


class HostilePickler(pickle._Pickler):
    dispatch = dict(pickle._Pickler.dispatch)

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", G("torch", obj.kind), obj.key, "cpu", obj.numel)
        return None

    def save_g(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    def save_call(self, obj):
        self.save(obj.func)
        self.save(tuple(obj.args))
        self.write(pickle.REDUCE)
        self.memoize(obj)
        if obj.state is not None:
            self.save(obj.state)
            self.write(pickle.BUILD)

    def save_new(self, obj):
        self.save(obj.cls)
        self.save(tuple(obj.args))
        self.write(pickle.NEWOBJ)
        self.memoize(obj)
        if obj.state is not None:
            self.save(obj.state)
            self.write(pickle.BUILD)

    def save_raw(self, obj):
        self.write(obj.data)

    dispatch[G] = save_g
    dispatch[Call] = save_call
    dispatch[New] = save_new
    dispatch[Raw] = save_raw


def frag(obj) -> bytes:
    """The opcodes of `obj` without PROTO, STOP or memo entries, to splice into a hand-made pickle."""
    buf = io.BytesIO()
    pickler = pickle._Pickler(buf, protocol=3)
    pickler.fast = True
    pickler.dump(obj)
    return buf.getvalue()[2:-1]


def dumps(obj, protocol: int = 3) -> bytes:
    buf = io.BytesIO()
    HostilePickler(buf, protocol=protocol).dump(obj)
    return buf.getvalue()


def torch_zip(folder: str, name: str, obj, storages=()) -> None:
    with zipfile.ZipFile(os.path.join(folder, name), "w") as z:
        z.writestr("archive/data.pkl", dumps(obj))
        for s in storages:
            z.writestr(f"archive/data/{s.key}", s.data)


def tensor(storage, offset, size, stride):
    return Call(G("torch._utils", "_rebuild_tensor_v2"), storage, offset, tuple(size), tuple(stride), False, {})


def persistent(class_name: str, state) -> Call:
    meta = {"type": "class", "version": 6, "module_src": f"import os\nos.system('touch {MARKER}')\n",
            "class_name": class_name, "state": state}
    return Call(G("torch_utils.persistence", "_reconstruct_persistent_obj"), meta)


SMALL_G = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=8, img_channels=3,
               mapping_kwargs={"num_layers": 2}, synthesis_kwargs={"channel_base": 64, "channel_max": 8})
SMALL_D = dict(c_dim=0, img_resolution=8, img_channels=3, channel_base=64, channel_max=8)


def module(modules=None, init=None) -> dict:
    state = {"_parameters": {}, "_buffers": {}, "_modules": modules or {}}
    if init is not None:
        state["_init_kwargs"] = init
    return state


def ada_pickle(folder: str, name: str, g_state: dict, g_init=None) -> None:
    data = {
        "G": persistent("Generator", {**g_state, "_init_kwargs": g_init or SMALL_G}),
        "D": persistent("Discriminator", module(init=SMALL_D)),
        "G_ema": persistent("Generator", module(init=SMALL_G)),
    }
    with open(os.path.join(folder, name), "wb") as f:
        f.write(dumps(data))


def legacy_pt(folder: str, name: str, root, storages=(), count_override=None) -> None:
    parts = [dumps(LEGACY_MAGIC), dumps(1001), dumps({"protocol_version": 1001, "little_endian": True}),
             dumps(root), dumps([s.key for s in storages])]
    for s in storages:
        count = s.numel if count_override is None else count_override
        parts += [struct.pack("<q", count), s.data]
    with open(os.path.join(folder, name), "wb") as f:
        f.write(b"".join(parts))


# ----------------------------------------------------------------------------- the cases

def neg_offset(folder):
    s = Storage("0", bytes(4 << 20), 4 << 20, "ByteStorage")
    torch_zip(folder, "neg_offset.pt", {"g_ema": {"w": tensor(s, -(4 << 20), [8 << 20], [1])}}, [s])


def neg_stride(folder):
    s = Storage("0", bytes(4 << 20), 4 << 20, "ByteStorage")
    torch_zip(folder, "neg_stride.pt", {"g_ema": {"w": tensor(s, 0, [4 << 20], [-1])}}, [s])


def stride_zero(folder):
    s = Storage("0", bytes(4), 1)  # one float32 ...
    torch_zip(folder, "stride_zero.pt", {"g_ema": {"w": tensor(s, 0, [1 << 19, 1 << 10], [0, 0])}}, [s])  # ... as 2 GiB


def object_storage(folder):
    objects = Call(G("numpy.core.multiarray", "_reconstruct"), G("numpy", "ndarray"), (0,), b"b",
                   state=(1, (2,), Call(G("numpy", "dtype"), "O8", False, True), False, ["a", "b"]))
    torch_zip(folder, "object_storage.pt", {"g_ema": {"style.1.weight": tensor(objects, 0, [2], [1])}})


def object_scalar(folder):
    scalar = Call(G("numpy.core.multiarray", "scalar"), Call(G("numpy", "dtype"), "O8", False, True), b"\x41" * 8)
    with open(os.path.join(folder, "object_scalar.pkl"), "wb") as f:
        f.write(dumps({"G_ema": [scalar, scalar]}))


def zip_bomb(folder):
    """A 2.2 MB member that inflates to 2.2 GB (identical fully-flushed deflate blocks)."""
    chunk, repeats = bytes(16 << 20), 132
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    stream = block * repeats + c.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(repeats):
        crc = zlib.crc32(chunk, crc)
    pkl = dumps({"g_ema": {"w": tensor(Storage("0", b"", (repeats << 24) // 4), 0, [4], [1])}})
    write_raw_zip(os.path.join(folder, "zip_bomb.pt"), [
        ("archive/data.pkl", zipfile.ZIP_STORED, pkl, zlib.crc32(pkl), len(pkl)),
        ("archive/data/0", zipfile.ZIP_DEFLATED, stream, crc, repeats << 24),
    ])


def bad_zip_member(folder):
    path = os.path.join(folder, "bad_zip_member.pt")
    torch_zip(folder, "bad_zip_member.pt", {"g_ema": {}})
    data = bytearray(open(path, "rb").read())
    data[0:4] = b"XXXX"  # the first local header's signature; the central directory still names it
    open(path, "wb").write(bytes(data))


def memo_bomb(folder):
    # PROTO 2, NONE, LONG_BINPUT 0xffffffff, STOP: 9 bytes.
    open(os.path.join(folder, "memo_bomb.pkl"), "wb").write(b"\x80\x02N" + b"r\xff\xff\xff\xff" + b".")


def bytearray_bomb(folder):
    # PROTO 5, BYTEARRAY8 of 2**40 bytes that are not there.
    data = b"\x80\x05\x96" + struct.pack("<Q", 1 << 40) + b"."
    open(os.path.join(folder, "bytearray_bomb.pkl"), "wb").write(data)


def deep_key(folder):
    # A dict whose key is a tuple nested 2,000,000 deep: hashing it overflows the C stack.
    data = b"\x80\x02}" + b")" + b"\x85" * 2_000_000 + b"Ns."
    open(os.path.join(folder, "deep_key.pkl"), "wb").write(data)


def build_on_class(folder):
    # GLOBAL EasyDict, then BUILD with the slot state {"__len__": 7}: would set EasyDict.__len__.
    data = (b"\x80\x03" + pickle.GLOBAL + b"dnnlib.util\nEasyDict\n" + frag((None, {"__len__": 7}))
            + pickle.BUILD + pickle.POP + pickle.EMPTY_LIST + pickle.STOP)
    open(os.path.join(folder, "build_on_class.pkl"), "wb").write(data)


def ada_dag(folder):
    node = persistent("FullyConnectedLayer", module())
    for _ in range(40):  # 2**40 paths through 40 shared nodes
        node = persistent("SynthesisLayer", module({"a": node, "b": node}))
    ada_pickle(folder, "ada_dag.pkl", module({"x": node}))


def ada_cycle(folder):
    """A module whose _modules holds the module itself, made with memo references."""
    state = b"".join(frag(k) + frag(v) for k, v in
                     (("_init_kwargs", SMALL_G), ("_parameters", {}), ("_buffers", {})))
    meta = b"".join(frag(k) + frag(v) for k, v in (("type", "class"), ("version", 6), ("class_name", "Generator")))
    data = (b"\x80\x03" + pickle.GLOBAL + b"torch_utils.persistence\n_reconstruct_persistent_obj\n"
            + pickle.EMPTY_DICT + pickle.MARK + meta + frag("state")
            + pickle.EMPTY_DICT + pickle.MARK + state + frag("_modules") + pickle.EMPTY_DICT + pickle.BINPUT + b"\x01"
            + pickle.SETITEMS + pickle.SETITEMS
            + pickle.TUPLE1 + pickle.REDUCE + pickle.BINPUT + b"\x02"  # obj = reconstruct(meta)
            + pickle.BINGET + b"\x01" + frag("self") + pickle.BINGET + b"\x02" + pickle.SETITEM + pickle.POP
            + pickle.POP
            + pickle.EMPTY_DICT + pickle.MARK
            + b"".join(frag(k) + pickle.BINGET + b"\x02" for k in ("G", "D", "G_ema"))
            + pickle.SETITEMS + pickle.STOP)
    open(os.path.join(folder, "ada_cycle.pkl"), "wb").write(data)


def ada_deep(folder):
    node = persistent("FullyConnectedLayer", module())
    for _ in range(3000):  # deeper than Python's recursion limit
        node = persistent("SynthesisLayer", module({"a": node}))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)  # the pure-Python pickler recurses too
    try:
        ada_pickle(folder, "ada_deep.pkl", module({"x": node}))
    finally:
        sys.setrecursionlimit(limit)


def ada_state_not_a_dict(folder):
    data = {"G": persistent("Generator", []), "D": persistent("Discriminator", []),
            "G_ema": persistent("Generator", [])}
    open(os.path.join(folder, "ada_state_not_a_dict.pkl"), "wb").write(dumps(data))


def ada_huge_z(folder):
    ada_pickle(folder, "ada_huge_z.pkl", module(), {**SMALL_G, "z_dim": 2**25})


def legacy_dag(folder):
    node = []
    for _ in range(40):
        node = [node, node]
    legacy_pt(folder, "legacy_dag.pt", node)


def legacy_overflow(folder):
    s = Storage("0", b"\0" * 16, 4)
    legacy_pt(folder, "legacy_overflow.pt", {"g_ema": {"w": tensor(s, 0, [4], [1])}}, [s], count_override=1 << 62)


def keras_huge_z(folder):
    config = {"module": "tf_stylegan.networks.generator", "class_name": "Generator",
              "registered_name": "tf_stylegan>Generator",
              "config": {"name": "generator", "trainable": True, "z_dim": 2**25, "w_dim": 512,
                         "img_resolution": 8, "channel_base": 64, "channel_max": 8}}
    with zipfile.ZipFile(os.path.join(folder, "keras_huge_z.keras"), "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        z.writestr("config.json", json.dumps(config))


def run_huge_z(folder):
    run = os.path.join(folder, "run_huge_z")
    os.makedirs(os.path.join(run, "checkpoints"))
    record = {"G": {"z_dim": 2**25, "w_dim": 512, "img_resolution": 8, "channel_base": 64, "channel_max": 8},
              "D": {"img_resolution": 8, "channel_base": 64, "channel_max": 8}}
    with open(os.path.join(run, "options.json"), "w") as f:
        json.dump(record, f)


def code_in_reduce(folder):
    payload = {"G_ema": Call(G("os", "system"), f"touch {MARKER}")}
    open(os.path.join(folder, "code_in_reduce.pkl"), "wb").write(dumps(payload))


def code_in_storage(folder):
    inner = dumps(Call(G("builtins", "exec"), f"open('{MARKER}', 'w')"))
    payload = {"G_ema": Call(G("torch.storage", "_load_from_bytes"), inner)}
    open(os.path.join(folder, "code_in_storage.pkl"), "wb").write(dumps(payload))


def write_raw_zip(path: str, members) -> None:
    """A zip of (name, method, raw data, crc, uncompressed size), written without recompressing."""
    out, central = io.BytesIO(), []
    for name, method, raw, crc, size in members:
        offset = out.tell()
        fname = name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(raw), size, len(fname), 0))
        out.write(fname + raw)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc, len(raw), size,
                                   len(fname), 0, 0, 0, 0, 0, offset) + fname)
    start = out.tell()
    for entry in central:
        out.write(entry)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), out.tell() - start, start, 0))
    with open(path, "wb") as f:
        f.write(out.getvalue())


# name: (writer, what the one error must say)
CASES = {
    "neg_offset.pt": (neg_offset, r"tensor offset -4194304"),
    "neg_stride.pt": (neg_stride, r"tensor stride \(-1,\) is not a tuple of non-negative"),
    "stride_zero.pt": (stride_zero, r"tensor: reading the file would take more than"),
    "object_storage.pt": (object_storage, r"dtype 'O8' is not a numeric type"),
    "object_scalar.pkl": (object_scalar, r"dtype 'O8' is not a numeric type"),
    "zip_bomb.pt": (zip_bomb, r"archive/data/0: reading the file would take more than"),
    "bad_zip_member.pt": (bad_zip_member, r"archive/data.pkl: cannot be read \(BadZipFile"),
    "memo_bomb.pkl": (memo_bomb, r"unrecognised checkpoint contents \(NoneType\)"),
    "bytearray_bomb.pkl": (bytearray_bomb, r"the pickle ends early"),
    "deep_key.pkl": (deep_key, r"a dict key or set member of type tuple is not a plain value"),
    "build_on_class.pkl": (build_on_class, r"BUILD of a Global is not allowed"),
    "ada_dag.pkl": (ada_dag, r"the same object is also at G\.x(\.a)+ \(a shared or cyclic reference\)"),
    "ada_cycle.pkl": (ada_cycle, r"G\.self: the same object is also at G "),
    "ada_deep.pkl": (ada_deep, r"nests deeper than 64 levels"),
    "ada_state_not_a_dict.pkl": (ada_state_not_a_dict, r"G: the network state has no init kwargs"),
    "ada_huge_z.pkl": (ada_huge_z, r"G: architecture kwargs: .*`z_dim` must be an integer in .*, got 33554432"),
    "legacy_dag.pt": (legacy_dag, r"unrecognised checkpoint contents \(list\)"),
    "legacy_overflow.pt": (legacy_overflow, r"storage '0': 4611686018427387904 elements need"),
    "keras_huge_z.keras": (keras_huge_z, r"config.json \(Generator\): architecture kwargs: `z_dim` must be"),
    "run_huge_z": (run_huge_z, r"options.json: G: architecture kwargs: `z_dim` must be"),
    "code_in_reduce.pkl": (code_in_reduce, r"refusing to load: the pickle names the global `os.system`"),
    "code_in_storage.pkl": (code_in_storage, r"refusing to load: the pickle names the global `builtins.exec`"),
}
