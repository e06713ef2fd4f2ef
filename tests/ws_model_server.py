"""A model server built on Python's `websockets`: streams predictions and
their feedback to the first client at a paced rate (one line per message,
or what is due in messages of up to `--lines-per-message` lines), and
answers kill-switch control messages with an acknowledgement.

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


# Formatted by hand (what json.dumps would write): cheap enough to make
# lines while sending, for long streams.
def prediction(i):
    label = "fraud" if i % 3 == 0 else "legit"
    confidence = 0.5 + (i * 7919 % 500) / 1000
    return f'{{"id":"r{i}","model":"fraud-v3","prediction":"{label}","confidence":{confidence}}}'


def feedback(i):
    label = "fraud" if i % 7 == 0 else "legit"
    return f'{{"type":"feedback","id":"r{i}","label":"{label}"}}'


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


def messages(args):
    """The stream as (text, lines) messages of up to `--lines-per-message`
    lines; `take(n)` gives the next message of at most n lines."""
    per_message = args.lines_per_message
    if args.pool:
        # Made once and sent over and over: ids repeat, but sending costs
        # next to nothing per line.
        pool = list(lines(args.pool, args.feedback_lag))
        cycle = ["\n".join(pool[i:i + per_message]) for i in range(0, len(pool) - per_message + 1, per_message)]
        total = args.lines // per_message * per_message
        at = 0

        def take(n):
            nonlocal at
            if n < per_message:
                return None, 0
            at += 1
            return cycle[(at - 1) % len(cycle)], per_message

        return total, take
    pending = lines(args.lines // 2 * 2, args.feedback_lag)

    def take(n):
        group = [line for _, line in zip(range(min(n, per_message)), pending)]
        return "\n".join(group), len(group)

    return args.lines // 2 * 2, take


async def stream(ws, args):
    started = time.monotonic()
    sent = 0
    total, take = messages(args)
    # Paced in ticks: each wake-up sends what is due by now.
    while sent < total:
        due = total
        if args.rate > 0:
            due = min(int((time.monotonic() - started) * args.rate), total)
        text, n = take(due - sent)
        if n == 0:
            await asyncio.sleep(min(args.lines_per_message / args.rate, 0.01))
            continue
        await ws.send(text)
        sent += n
    elapsed = time.monotonic() - started
    print(f"sent {sent} in {elapsed:.3f} s", flush=True)


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=60000)
    parser.add_argument("--rate", type=float, default=20000, help="lines a second (0: as fast as possible)")
    parser.add_argument("--lines-per-message", type=int, default=1,
                        help="most lines in one message (newline-separated): what is due is sent in messages of this many")
    parser.add_argument("--feedback-lag", type=int, default=100)
    parser.add_argument("--pool", type=int, default=0,
                        help="make this many lines once and send them over and over (ids repeat)")
    parser.add_argument("--linger", type=float, default=120, help="seconds before exiting regardless")
    args = parser.parse_args()

    done = asyncio.Event()
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
            await stream(ws, args)
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
