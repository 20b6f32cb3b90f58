"""PyTorch peer of bench/train-throughput.ts: trains the reference CNN or the student eagerly on command.

Protocol: one JSON object per line on stdin (commands), one JSON object per line on stdout (replies):
  {"cmd": "load", "path": P, "net": "reference" | "student", "config": C}
      -> {"ok": true, "torch": V, "tensors": N, "rssKiB": R}
      P is a safetensors file with the initial weights (reference: conv1..conv4, fc1, fc2; student: expnet's
      ExpNet state dict, C its config) and the batch (x, y).
  {"cmd": "train", "threads": T, "warmup": W, "steps": S, "lr": LR, "precision": "fp32" | "bf16"}
      -> {"ok": true, "seconds": s, "cpuSeconds": c, "sysSeconds": k, "firstLoss": l0, "lastLoss": ln, "rssKiB": r, "maxRssKiB": R}
      Starts from the loaded initial weights with a fresh Adam; times the S steps after W warm-up steps
      (wall seconds; CPU seconds of the whole process, user + system, all threads; system seconds).
      bf16: forward and loss under torch.autocast("cpu", dtype=torch.bfloat16), as PyTorch's docs recommend;
      bf16cl: the same with the model and the batch in torch.channels_last (PyTorch's advice for oneDNN bf16).
  {"cmd": "sgemm", "threads": T, "size": N, "seconds": s, "dtype": "float32" | "bfloat16"}  -> {"ok": true, "gflops": g}
  {"cmd": "quit"}
Errors come back as {"ok": false, "error": message}. Nothing else is printed on stdout.
Run with Debian's /usr/bin/python3 (python3-torch, libtorch 1.13); needs no other package.
"""
import contextlib
import json
import math
import os
import resource
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}
CHANNELS = [1, 32, 64, 128, 256]


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n].decode("utf-8"))
    start = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b0, b1 = e["data_offsets"]
        raw = bytearray(buf[start + b0 : start + b1])
        t = torch.frombuffer(raw, dtype=DTYPES[e["dtype"]]) if len(raw) > 0 else torch.empty(0, dtype=DTYPES[e["dtype"]])
        out[name] = t.reshape(e["shape"]).clone()
    return out


class ReferenceCnn(nn.Module):
    """conv3x3 (pad 1) 32-64-128-256, each + ReLU + maxpool 2; FC 256 + ReLU; FC 7 (input 1x64x64)."""

    def __init__(self):
        super().__init__()
        for i in range(4):
            setattr(self, f"conv{i + 1}", nn.Conv2d(CHANNELS[i], CHANNELS[i + 1], 3, padding=1))
        self.fc1 = nn.Linear(256 * 4 * 4, 256)
        self.fc2 = nn.Linear(256, 7)

    def forward(self, x):
        for i in range(4):
            x = F.max_pool2d(F.relu(getattr(self, f"conv{i + 1}")(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


class Student(nn.Module):
    """expnet's ExpNet (src/nets/expNet.ts) with the same parameter names: 5 conv3x3 blocks (+ BN + ReLU),
    maxpool 2 after the first 4, maxpool 2 (ceil) and the FC head."""

    def __init__(self, c):
        super().__init__()
        cin = c["inChannels"]
        for i, w in enumerate(c["widths"]):
            layers = [nn.Conv2d(cin, w, 3, padding=1, bias=not c["batchNorm"])]
            layers += [nn.BatchNorm2d(w), nn.ReLU()] if c["batchNorm"] else [nn.ReLU()]
            setattr(self, f"block{i + 1}", nn.Sequential(*layers))
            cin = w
        side = math.ceil(c["inputSize"] / 32)
        flat = cin * side * side
        if c["fcHidden"] > 0:
            self.head = nn.Sequential(nn.Linear(flat, c["fcHidden"]), nn.ReLU(), nn.Dropout(c["dropout"]), nn.Linear(c["fcHidden"], c["numClasses"]))
        else:
            self.head = nn.Sequential(nn.Dropout(c["dropout"]), nn.Linear(flat, c["numClasses"]))
        self.blocks = len(c["widths"])

    def forward(self, x):
        for i in range(self.blocks):
            x = getattr(self, f"block{i + 1}")(x)
            if i < 4:
                x = F.max_pool2d(x, 2)
        return self.head(F.max_pool2d(x, 2, ceil_mode=True).flatten(1))


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Peer:
    def __init__(self):
        self.weights = None
        self.x = None
        self.y = None
        self.net = "reference"
        self.config = None

    def load(self, msg):
        tensors = read_safetensors(msg["path"])
        self.x = tensors.pop("x")
        self.y = tensors.pop("y")
        self.weights = tensors
        self.net = msg.get("net", "reference")
        self.config = msg.get("config")
        return {"torch": torch.__version__, "tensors": len(tensors) + 2, "rssKiB": rss_kib()}

    def train(self, msg):
        if self.weights is None:
            raise RuntimeError("train before load")
        torch.set_num_threads(int(msg["threads"]))
        model = ReferenceCnn() if self.net == "reference" else Student(self.config)
        missing, unexpected = model.load_state_dict(self.weights, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise RuntimeError(f"weights do not match the {self.net}: missing {missing}, unexpected {unexpected}")
        model.train()
        precision = msg.get("precision", "fp32")
        bf16 = precision in ("bf16", "bf16cl")
        x, y = self.x, self.y
        if precision == "bf16cl":
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        opt = torch.optim.Adam(model.parameters(), lr=float(msg["lr"]))
        losses = []

        def step():
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext():
                loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())

        for _ in range(int(msg["warmup"])):
            step()
        t0, c0 = time.perf_counter(), os.times()
        for _ in range(int(msg["steps"])):
            step()
        seconds, c1 = time.perf_counter() - t0, os.times()
        return {
            "seconds": seconds,
            "cpuSeconds": (c1.user - c0.user) + (c1.system - c0.system),
            "sysSeconds": c1.system - c0.system,
            "firstLoss": losses[0],
            "lastLoss": losses[-1],
            "rssKiB": rss_kib(),
            "maxRssKiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }

    def sgemm(self, msg):
        torch.set_num_threads(int(msg["threads"]))
        n = int(msg["size"])
        dtype = torch.bfloat16 if msg.get("dtype") == "bfloat16" else torch.float32
        a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
        for _ in range(2):
            torch.mm(a, b)
        best, deadline = 0.0, time.perf_counter() + float(msg["seconds"])
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            for _ in range(4):
                torch.mm(a, b)
            best = max(best, 4 * 2 * n**3 / (time.perf_counter() - t0) / 1e9)
        return {"gflops": best}


def main():
    peer = Peer()
    handlers = {"load": peer.load, "train": peer.train, "sgemm": peer.sgemm}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
            if msg.get("cmd") == "quit":
                break
            handler = handlers.get(msg.get("cmd"))
            if handler is None:
                raise ValueError(f"unknown command {msg.get('cmd')!r} (expected load, train, sgemm or quit)")
            reply = {"ok": True, **handler(msg)}
        except Exception as err:  # reported to the parent, which decides
            reply = {"ok": False, "error": f"{type(err).__name__}: {err}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
