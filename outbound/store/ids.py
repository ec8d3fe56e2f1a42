"""Time-ordered ids for rows written in bulk. Imported by the ingest pool's processes: the
standard library only."""

import os


def time_ordered_ids(count: int, millis: int, first: int = 0) -> list[str]:
    """UUIDs of version 7 (RFC 9562) for the items ``first`` to ``first + count - 1`` of a
    batch made at ``millis`` (milliseconds since the epoch), in increasing order.

    They start with the time, so that rows inserted one after the other sit side by side in
    their primary key's index instead of all over it. The item's number goes into the 12 bits
    after the version (4,096 a millisecond, the next ones in the following milliseconds): a
    batch prepared in chunks by several processes is in order all the same. The last 62 bits
    are random.
    """
    randoms = os.urandom(8 * count).hex()
    ids = []
    head = ""
    for index in range(count):
        number = first + index
        if not head or not number & 0xFFF:  # a new millisecond
            stamp = f"{millis + (number >> 12):012x}"
            head = f"{stamp[:8]}-{stamp[8:]}-7"
        tail = randoms[16 * index : 16 * index + 16]
        ids.append(f"{head}{number & 0xFFF:03x}-{_VARIANT[tail[0]]}{tail[1:4]}-{tail[4:]}")
    return ids


# A random hex digit as the first digit of an RFC 9562 variant: 8, 9, a or b.
_VARIANT = {digit: f"{int(digit, 16) & 3 | 8:x}" for digit in "0123456789abcdef"}
