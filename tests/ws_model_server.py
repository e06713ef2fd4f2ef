"""A model server built on Python's `websockets`: streams predictions and
their feedback to the first client at a paced rate, one line per message,
and answers kill-switch control messages with an acknowledgement.

    python ws_model_server.py --lines 60000 --rate 20000

Prints `port N` when listening and `sent N in S s` when every line went
out, on stdout. Half the lines are predictions, half the feedback for them
(`--feedback-lag` predictions later). Exits when the client goes away, or
after `--linger` seconds.
"""

import argparse
import asyncio
import json
import sys
import time

from websockets.asyncio.server import serve


def prediction(i):
    label = "fraud" if i % 3 == 0 else "legit"
    confidence = 0.5 + (i * 7919 % 500) / 1000
    return json.dumps(
        {"id": f"r{i}", "model": "fraud-v3", "prediction": label, "confidence": confidence},
        separators=(",", ":"),
    )


def feedback(i):
    label = "fraud" if i % 7 == 0 else "legit"
    return json.dumps({"type": "feedback", "id": f"r{i}", "label": label}, separators=(",", ":"))


def lines(total, lag):
    """Prediction i, then the feedback of prediction i - lag; the feedback
    still owed once the predictions are out comes last."""
    pairs = total // 2
    for i in range(pairs):
        yield prediction(i)
        if i >= lag:
            yield feedback(i - lag)
    for i in range(max(pairs - lag, 0), pairs):
        yield feedback(i)


async def answer_controls(ws):
    """Acknowledges `{"type":"kill_switch",...}` messages until the client
    goes away."""
    async for message in ws:
        try:
            request = json.loads(message)
        except ValueError:
            continue
        if isinstance(request, dict) and request.get("type") == "kill_switch":
            ack = {"type": "kill_switch_ack", "request_id": request.get("request_id")}
            await ws.send(json.dumps(ack))


async def stream(ws, args, finished):
    started = time.monotonic()
    sent = 0
    # Paced in ticks: each wake-up sends what is due by now.
    pending = iter(args.stream)
    total = len(args.stream)
    while sent < total:
        due = total
        if args.rate > 0:
            due = int((time.monotonic() - started) * args.rate)
            if sent >= due:
                await asyncio.sleep(min((sent + 1 - due) / args.rate, 0.01))
                continue
        group = [next(pending) for _ in range(min(min(due, total) - sent, args.lines_per_message))]
        await ws.send("\n".join(group))
        sent += len(group)
    elapsed = time.monotonic() - started
    print(f"sent {sent} in {elapsed:.3f} s", flush=True)
    finished.set()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=60000)
    parser.add_argument("--rate", type=float, default=20000, help="lines a second (0: as fast as possible)")
    parser.add_argument("--lines-per-message", type=int, default=1,
                        help="most lines in one message (newline-separated): what is due is sent in messages of this many")
    parser.add_argument("--feedback-lag", type=int, default=100)
    parser.add_argument("--linger", type=float, default=120, help="seconds before exiting regardless")
    args = parser.parse_args()
    # Made before serving, so that the pace is the sending's alone.
    args.stream = list(lines(args.lines // 2 * 2, args.feedback_lag))

    done = asyncio.Event()
    finished = asyncio.Event()
    clients = 0

    async def handler(ws):
        nonlocal clients
        clients += 1
        if clients > 1:
            # One stream only: a reconnecting client gets nothing new.
            await answer_controls(ws)
            return
        controls = asyncio.create_task(answer_controls(ws))
        try:
            await stream(ws, args, finished)
            await controls
        finally:
            controls.cancel()
            done.set()

    async with serve(handler, "127.0.0.1", 0, compression=None, max_queue=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"port {port}", flush=True)
        try:
            await asyncio.wait_for(done.wait(), timeout=args.linger)
        except asyncio.TimeoutError:
            print("linger time over", file=sys.stderr, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
