"""A model server that obeys the team's kill switch (modelwatch's `nats_kv`
actuator): it watches its key in the MW_KILL bucket and stops serving the
moment the key says "tripped", serving again once it says "armed".

    pip install nats-py
    python kill_switch_nats.py --url nats://nats-1:4222 --team sre --model fraud@3
"""

import argparse
import asyncio
import json

import nats
from nats.js.errors import BucketNotFoundError


def token(text):
    """A name as one key token, as modelwatch writes it: A-Za-z0-9-_ kept,
    every other byte of its UTF-8 as =XX."""
    out = "".join(
        chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "-_") else "=%02X" % b
        for b in text.encode()
    )
    return out or "=00"


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", default="nats://127.0.0.1:4222")
    p.add_argument("--bucket", default="MW_KILL")
    p.add_argument("--team", default="default")
    p.add_argument("--model", required=True)
    args = p.parse_args()

    nc = await nats.connect(args.url)
    js = nc.jetstream()
    try:
        kv = await js.key_value(args.bucket)
    except BucketNotFoundError:
        kv = await js.create_key_value(bucket=args.bucket, history=64)

    serving = True  # no key yet: never tripped
    print("serving", flush=True)
    watcher = await kv.watch(f"{token(args.team)}.{token(args.model)}")
    async for entry in watcher:
        if entry is None:  # the current value (if any) has been delivered
            continue
        try:
            state = json.loads(entry.value)
        except ValueError:
            continue
        tripped = entry.operation is None and state.get("state") == "tripped"
        if tripped and serving:
            serving = False  # a real server stops answering requests here
            print(f"stopped: tripped by {state.get('by')} ({state.get('reason')})", flush=True)
        elif not tripped and not serving:
            serving = True
            print("serving again", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
