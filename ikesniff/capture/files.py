"""Capture files into batches: format detection, libpcap's fast reader, and a pure-Python reader.

Two readers produce the same `Batch` stream:

* libpcap (through pcapy-ng's `next_batch`) for regular, uncompressed files it can read: a single C
  call returns thousands of packets, so no Python runs per packet.
* a pure-Python pcap/pcapng reader for everything else: gzip-compressed files (detected by the magic
  1f 8b, not by the name), standard input, pcapng files whose interfaces have different link types
  or which contain blocks Wireshark numbers as frames but libpcap skips (custom and systemd journal
  blocks), and as the fallback when libpcap fails part-way: the Python reader then starts again
  and skips the frames already delivered, so frame numbers stay Wireshark's.

The Python reader streams (it never loads a whole file): it reads chunks, and a batch's `data` is the
chunk itself, with `offsets` pointing at the packets inside it, so packet bytes are never copied.

This module knows nothing of IP or IKE.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import struct
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

try:
    import pcapy  # type: ignore[import-not-found]
except ImportError:                                # files are still read, by the Python reader
    pcapy = None

from .batches import Batch, CaptureError, SourceStopped

DEFAULT_BATCH = 16384
"""Frames per batch: large enough that numpy's per-call overhead vanishes, small enough to stay in cache."""

CHUNK = 4 << 20
"""Octets read at a time by the Python reader."""

BATCH_OCTETS = 32 << 20
"""About the most packet octets one libpcap batch should hold (memory stays flat with jumbo frames)."""

MAX_RECORD = 262144
"""Largest captured length accepted (Wireshark's and libpcap's WTAP_MAX_PACKET_SIZE_STANDARD)."""

STDIN_NAME = "<stdin>"

# pcap file magics (as read little-endian) -> (byte order, fraction-of-second scale, record header size)
PCAP_MAGICS: dict[bytes, tuple[str, float, int]] = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6, 16),   # microseconds, little-endian writer
    b"\xa1\xb2\xc3\xd4": (">", 1e-6, 16),   # microseconds, big-endian writer
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9, 16),   # nanoseconds
    b"\xa1\xb2\x3c\x4d": (">", 1e-9, 16),
    b"\x34\xcd\xb2\xa1": ("<", 1e-6, 24),   # Alexey Kuznetzov's modified pcap (8 more octets per record)
    b"\xa1\xb2\xcd\x34": (">", 1e-6, 24),
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
GZIP_MAGIC = b"\x1f\x8b"

# pcapng block types (pcapng draft, section 11.1)
SHB, IDB, PB, SPB, NRB, ISB, EPB, JOURNAL, DSB = 0x0A0D0D0A, 1, 2, 3, 4, 5, 6, 9, 10
CUSTOM_BLOCKS = (0x00000BAD, 0x40000BAD)
FRAME_BLOCKS_WITHOUT_PACKET = (JOURNAL, *CUSTOM_BLOCKS)
"""Blocks that Wireshark 4.0 shows as frames of their own (so they take a frame number) but that
carry no network packet; libpcap skips them silently."""


# --- opening ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Opened:
    """An input whose format is known, ready to produce batches."""

    name: str
    format: str
    """'pcap' or 'pcapng'."""
    stream: BinaryIO
    """The (decompressed) byte stream, from the first octet of the capture."""
    path: str | None
    """The path when the input is a regular uncompressed file libpcap may read; otherwise None."""
    file: FileIdentity | None = None
    """The regular file read (compressed or not, standard input too), for `read_offset`; None for a pipe."""


def _describe_os_error(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, IsADirectoryError):
        return "is a directory"
    if isinstance(error, PermissionError):
        return "permission denied"
    return os.strerror(error.errno) if error.errno else str(error)


def _read_head(stream: BinaryIO, size: int) -> bytes:
    """Read up to `size` octets, waiting for more on pipes until EOF."""
    parts = []
    wanted = size
    while wanted > 0:
        piece = stream.read(wanted)
        if not piece:
            break
        parts.append(piece)
        wanted -= len(piece)
    return b"".join(parts)


class _Prefixed:
    """A read-only stream that first returns `prefix`, then the rest of `stream`."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = prefix
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            if size < 0:
                data, self._prefix = self._prefix + self._stream.read(), b""
                return data
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            return data
        return self._stream.read(size)

    def read1(self, size: int = -1) -> bytes:
        if self._prefix:
            return self.read(size)
        reader = getattr(self._stream, "read1", None)
        return reader(size) if reader else self._stream.read(size)

    def close(self) -> None:
        self._stream.close()


def open_capture(source: str) -> Opened:
    """Open a path or '-' (standard input); detect gzip and the capture format.

    Raises CaptureError with a one-line message for anything that is not a readable capture."""
    name = STDIN_NAME if source == "-" else source
    path: str | None = None
    raw: BinaryIO
    if source == "-":
        raw = sys.stdin.buffer
    else:
        try:
            raw = open(source, "rb")  # noqa: SIM115 - the stream outlives this function
        except OSError as error:
            raise CaptureError(f"{name}: {_describe_os_error(error)}") from None
        path = source
    try:
        head = _read_head(raw, 4)
    except OSError as error:
        raise CaptureError(f"{name}: {_describe_os_error(error)}") from None
    if not head:
        raise CaptureError(f"{name}: empty file")
    # The stream handed on starts at the first octet again (what was sniffed is put back in front).
    stream: BinaryIO = _Prefixed(head, raw)  # type: ignore[assignment]
    compressed = head[:2] == GZIP_MAGIC
    if compressed:
        path = None
        unzipped: BinaryIO = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
        try:
            head = _read_head(unzipped, 4)
        except (OSError, EOFError, zlib.error) as error:
            raise CaptureError(f"{name}: damaged gzip data ({_short(error)})") from None
        if not head:
            raise CaptureError(f"{name}: empty file (after gzip decompression)")
        stream = _Prefixed(head, unzipped)  # type: ignore[assignment]
    if len(head) < 4:
        raise CaptureError(f"{name}: too short to be a capture file ({len(head)} octets)")
    if head in PCAP_MAGICS:
        fmt = "pcap"
    elif head == PCAPNG_MAGIC:
        fmt = "pcapng"
    else:
        what = "gzip-compressed file" if compressed else "file"
        raise CaptureError(f"{name}: not a pcap or pcapng {what} (magic 0x{head.hex()})")
    file = _identity(raw)
    if file is None:
        path = None                                 # a FIFO or /dev/fd/N of a pipe: only streaming reads it
    return Opened(name, fmt, stream, path, file)


# --- how far reading has got --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FileIdentity:
    """A regular file as the kernel knows it: what `read_offset` looks for among a process's descriptors."""

    device: int
    inode: int
    size: int
    """Octets when it was opened (the compressed size for a gzip file)."""


def _identity(raw: BinaryIO) -> FileIdentity | None:
    try:
        status = os.fstat(raw.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None                                 # no descriptor (a test's stand-in for stdin), or closed
    if not stat.S_ISREG(status.st_mode):
        return None
    return FileIdentity(status.st_dev, status.st_ino, status.st_size)


OFFSETS_KNOWN = os.path.isdir("/proc/self/fdinfo")
"""Whether `read_offset` can tell anything here (Linux)."""


def read_offset(pid: int, file: FileIdentity) -> int | None:
    """The furthest offset that process `pid` has reached in `file` on any of its descriptors (Linux:
    /proc/PID/fdinfo), or None when it has none open on it (or has ended, or there is no /proc).

    Every reader shows up here without telling anyone: libpcap's own FILE, the Python reader's file
    under gzip (the offset is then in the compressed file), a forked worker's copy."""
    directory = f"/proc/{pid}"
    try:
        descriptors = os.listdir(f"{directory}/fd")
    except OSError:
        return None
    furthest: int | None = None
    for descriptor in descriptors:
        try:
            status = os.stat(f"{directory}/fd/{descriptor}")
            if status.st_ino != file.inode or status.st_dev != file.device:
                continue
            with open(f"{directory}/fdinfo/{descriptor}", "rb") as info:
                text = info.read(512)
        except OSError:
            continue                                 # closed meanwhile
        for line in text.splitlines():
            if line.startswith(b"pos:"):
                offset = int(line[4:])
                furthest = offset if furthest is None else max(furthest, offset)
                break
    return furthest


def _short(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


# --- chunked reading ------------------------------------------------------------------------------------
class _Chunks:
    """A growing window on a stream: `buffer[pos:]` holds unread octets; `need` reads more."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.buffer = b""
        self.pos = 0
        self.eof = False
        self.damage: str | None = None
        """Why reading stopped early (damaged gzip data, an I/O error), if it did."""
        self._read1 = getattr(stream, "read1", None)

    def available(self) -> int:
        return len(self.buffer) - self.pos

    def need(self, size: int) -> bool:
        """Make at least `size` unread octets available; False at end of input."""
        if self.available() >= size:
            return True
        parts = [self.buffer[self.pos:]]
        have = len(parts[0])
        while have < size and not self.eof:
            wanted = max(CHUNK, size - have)
            try:
                piece = self._read1(wanted) if self._read1 else self.stream.read(wanted)
            except EOFError:
                # gzip: "Compressed file ended before the end-of-stream marker was reached"
                self.damage, piece = "compressed data ends early", b""
            except (OSError, zlib.error) as error:
                self.damage, piece = f"read error: {_short(error)}", b""
            if not piece:
                self.eof = True
                break
            parts.append(piece)
            have += len(piece)
        self.buffer = b"".join(parts)
        self.pos = 0
        return have >= size


def _stopped(frames_read: int, time: float, text: str, chunks: _Chunks) -> SourceStopped:
    if chunks.damage:
        text = f"{text} ({chunks.damage})"
    return SourceStopped(frames_read, time, text)


# --- pcap -----------------------------------------------------------------------------------------------
class _Collector:
    """The frames of the batch being built: where they are in the current buffer, and when."""

    def __init__(self, link_type: int | None = None) -> None:
        self.link_type = link_type
        self.first: int | None = None
        self.offsets: list[int] = []
        self.lengths: list[int] = []
        self.times: list[float] = []

    def add(self, frame: int, offset: int, length: int, when: float) -> None:
        if self.first is None:
            self.first = frame
        self.offsets.append(offset)
        self.lengths.append(length)
        self.times.append(when)

    def __len__(self) -> int:
        return len(self.offsets)

    def take(self, buffer: bytes) -> Iterator[Batch]:
        """Yield the collected frames as a batch over `buffer` (if any) and start afresh."""
        if self.offsets and self.first is not None and self.link_type is not None:
            yield Batch(self.link_type, buffer, np.array(self.offsets, dtype=np.int64),
                        np.array(self.lengths, dtype=np.int64), np.array(self.times, dtype=np.float64),
                        self.first)
        self.first = None
        self.offsets, self.lengths, self.times = [], [], []


def _pcap_batches(opened: Opened, batch_size: int, skip: int) -> Iterator[Batch]:
    chunks = _Chunks(opened.stream)
    if not chunks.need(24):
        raise CaptureError(f"{opened.name}: truncated pcap file header ({chunks.available()} octets)")
    order, scale, record_size = PCAP_MAGICS[chunks.buffer[:4]]
    link_type = struct.unpack_from(order + "I", chunks.buffer, 20)[0] & 0x0FFFFFFF
    chunks.pos = 24
    unpack = struct.Struct(order + "IIII").unpack_from
    frame = 0           # frames read so far (delivered or skipped)
    last_time = 0.0
    while True:
        buffer, pos, end = chunks.buffer, chunks.pos, len(chunks.buffer)
        offsets: list[int] = []
        lengths: list[int] = []
        seconds: list[int] = []
        fractions: list[int] = []
        damaged = 0
        # The hot loop: one header unpacked and four appends per record, nothing else.
        while pos + record_size <= end:
            sec, fraction, captured, _wire = unpack(buffer, pos)
            if captured > MAX_RECORD:
                damaged = captured
                break
            start = pos + record_size
            if start + captured > end:
                break
            if frame < skip:
                frame += 1
            else:
                offsets.append(start)
                lengths.append(captured)
                seconds.append(sec)
                fractions.append(fraction)
                if len(offsets) == batch_size:
                    pos = start + captured
                    break
            pos = start + captured
        chunks.pos = pos
        if offsets:
            times = np.array(seconds, dtype=np.float64) + np.array(fractions, dtype=np.float64) * scale
            yield Batch(link_type, buffer, np.array(offsets, dtype=np.int64), np.array(lengths, dtype=np.int64),
                        times, frame + 1)
            frame += len(offsets)
            last_time = float(times[-1])
        if damaged:
            raise _stopped(frame, last_time, f"damaged record header at frame {frame + 1} "
                           f"(captured length {damaged}); the rest is unreadable", chunks)
        if len(offsets) == batch_size:
            continue
        # The next record is not complete in the buffer: read more, or stop at the end.
        wanted = record_size
        if chunks.available() >= record_size:
            wanted += unpack(chunks.buffer, chunks.pos)[2]
        if chunks.need(wanted):
            continue
        left = chunks.available()
        if left == 0:
            if chunks.damage:
                raise _stopped(frame, last_time, f"input ends after frame {frame}", chunks)
            return
        if left < record_size:
            text = f"truncated record header at frame {frame + 1} ({left} of {record_size} octets)"
        else:
            text = (f"truncated record at frame {frame + 1} ({wanted - record_size} octets "
                    f"recorded, {left - record_size} present)")
        raise _stopped(frame, last_time, text, chunks)


# --- pcapng ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Interface:
    link_type: int
    snaplen: int
    units_per_second: int
    inverse: float
    offset: int


def _parse_idb(body: bytes, order: str) -> _Interface | None:
    """The interface an IDB describes, or None when the block is too short to describe one."""
    if len(body) < 8:
        return None
    link_type, _reserved, snaplen = struct.unpack_from(order + "HHI", body, 0)
    units, offset = 1_000_000, 0
    pos = 8
    while pos + 4 <= len(body):
        code, length = struct.unpack_from(order + "HH", body, pos)
        value = body[pos + 4:pos + 4 + length]
        if code == 0:
            break
        if code == 9 and value:                 # if_tsresol: 10^-n, or 2^-n when the top bit is set
            resolution = value[0]
            units = 2 ** (resolution & 0x7F) if resolution & 0x80 else 10 ** resolution
        elif code == 14 and len(value) >= 8:    # if_tsoffset: seconds added to every timestamp
            offset = struct.unpack_from(order + "q", value)[0]
        pos += 4 + length + (-length % 4)
    return _Interface(link_type, snaplen, units, 1.0 / units, offset)


def _pcapng_batches(opened: Opened, batch_size: int, skip: int) -> Iterator[Batch]:
    chunks = _Chunks(opened.stream)
    interfaces: list[_Interface] = []
    order = "<"
    frame = 0
    last_time = 0.0
    batch = _Collector()
    buffer = chunks.buffer

    def stop(text: str) -> SourceStopped:
        return _stopped(frame, last_time, text, chunks)

    def window(size: int) -> Iterator[Batch]:
        """Make `size` octets available; if that moves the window, the frames so far go out first."""
        nonlocal buffer
        enough = chunks.need(size)
        if chunks.buffer is not buffer:
            yield from batch.take(buffer)
            buffer = chunks.buffer
        if not enough:
            yield from batch.take(buffer)
            raise _NotEnough

    epb_headers = {"<": struct.Struct("<IIIIIII").unpack_from, ">": struct.Struct(">IIIIIII").unpack_from}
    while True:
        if frame >= skip and batch.link_type is not None:
            # The hot loop: a run of Enhanced Packet Blocks of the batch's link type, complete in the
            # buffer. Anything else (another block, another link type, a damaged or partial block)
            # goes through the general code below, one block at a time.
            unpack = epb_headers[order]
            link, known = batch.link_type, len(interfaces)
            offsets, lengths, times = batch.offsets, batch.lengths, batch.times
            room = batch_size - len(offsets)
            pos, end = chunks.pos, len(buffer)
            run = 0
            while run < room and pos + 28 <= end:
                block_type, block_length, interface_id, high, low, captured, _wire = unpack(buffer, pos)
                if (block_type != EPB or block_length & 3 or pos + block_length > end or interface_id >= known
                        or captured + 32 > block_length):
                    break
                interface = interfaces[interface_id]
                if interface.link_type != link:
                    break
                seconds, fraction = divmod((high << 32) | low, interface.units_per_second)
                offsets.append(pos + 28)
                lengths.append(captured)
                times.append(seconds + interface.offset + fraction * interface.inverse)
                pos += block_length
                run += 1
            if run:
                if batch.first is None:
                    batch.first = frame + 1
                frame += run
                last_time = times[-1]
                chunks.pos = pos
                if run == room:
                    yield from batch.take(buffer)
                continue
        try:
            yield from window(12)
        except _NotEnough:
            if chunks.available() == 0 and not chunks.damage:
                return
            raise stop(f"truncated block after frame {frame} ({chunks.available()} octets left)") from None
        pos = chunks.pos
        if buffer[pos:pos + 4] == PCAPNG_MAGIC:
            # A Section Header Block sets the byte order of everything up to the next one.
            try:
                yield from window(16)
            except _NotEnough:
                raise stop(f"truncated section header after frame {frame}") from None
            pos = chunks.pos
            magic = buffer[pos + 8:pos + 12]
            if magic == b"\x4d\x3c\x2b\x1a":
                order = "<"
            elif magic == b"\x1a\x2b\x3c\x4d":
                order = ">"
            else:
                raise stop(f"damaged section header after frame {frame} (byte-order magic 0x{magic.hex()})")
        block_type, block_length = struct.unpack_from(order + "II", buffer, pos)
        if block_length < 12 or block_length % 4 or block_length > 64 * MAX_RECORD:
            yield from batch.take(buffer)
            raise stop(f"damaged block after frame {frame} (type 0x{block_type:x}, length {block_length})")
        try:
            yield from window(block_length)
        except _NotEnough:
            raise stop(f"truncated block after frame {frame} ({block_length} octets recorded, "
                       f"{chunks.available()} present)") from None
        pos = chunks.pos
        body_start = pos + 8
        body_end = pos + block_length - 4
        chunks.pos = pos + block_length

        if block_type == EPB or block_type == PB:
            if body_end - body_start < 20:
                yield from batch.take(buffer)
                raise stop(f"damaged packet block at frame {frame + 1}")
            if block_type == EPB:
                interface_id, high, low, captured, _wire = struct.unpack_from(order + "IIIII", buffer,
                                                                              body_start)
            else:
                interface_id, _drops, high, low, captured, _wire = struct.unpack_from(
                    order + "HHIIII", buffer, body_start)
            data_start = body_start + 20
            timestamp = (high << 32) | low
        elif block_type == SPB:
            if body_end - body_start < 4:
                yield from batch.take(buffer)
                raise stop(f"damaged packet block at frame {frame + 1}")
            interface_id, timestamp = 0, -1
            data_start = body_start + 4
            captured = min(struct.unpack_from(order + "I", buffer, body_start)[0], body_end - data_start)
            if interfaces and interfaces[0].snaplen:
                captured = min(captured, interfaces[0].snaplen)
        elif block_type == IDB:
            interface = _parse_idb(buffer[body_start:body_end], order)
            if interface is None:
                yield from batch.take(buffer)
                raise stop(f"damaged interface description after frame {frame}")
            interfaces.append(interface)
            continue
        elif block_type == SHB:
            interfaces = []
            continue
        elif block_type in FRAME_BLOCKS_WITHOUT_PACKET:
            # A frame without a packet: it takes a number; the classifier sees zero octets.
            frame += 1
            if frame > skip:
                if batch.link_type is None:
                    batch.link_type = interfaces[0].link_type if interfaces else 1
                batch.add(frame, body_start, 0, last_time)
                if len(batch) >= batch_size:
                    yield from batch.take(buffer)
            continue
        else:
            continue                               # NRB, ISB, DSB and blocks we do not know
        if interface_id >= len(interfaces):
            yield from batch.take(buffer)
            raise stop(f"frame {frame + 1} names interface {interface_id}, which its section does not define")
        if data_start + captured > body_end:
            yield from batch.take(buffer)
            raise stop(f"damaged packet block at frame {frame + 1} (captured length {captured} "
                       f"exceeds the block)")
        interface = interfaces[interface_id]
        if timestamp < 0:
            when = 0.0                             # SPBs carry no time (libpcap reports 0 as well)
        else:
            seconds, fraction = divmod(timestamp, interface.units_per_second)
            when = seconds + interface.offset + fraction * interface.inverse
        frame += 1
        last_time = when
        if frame <= skip:
            continue
        if interface.link_type != batch.link_type:
            yield from batch.take(buffer)
            batch.link_type = interface.link_type
        batch.add(frame, data_start, captured, when)
        if len(batch) >= batch_size:
            yield from batch.take(buffer)


class _NotEnough(Exception):
    """Internal: the input ended before the octets a block needs."""


# --- libpcap --------------------------------------------------------------------------------------------
class LibpcapFailed(Exception):
    """libpcap refused the file or stopped part-way; `delivered` frames were handed on before."""

    def __init__(self, delivered: int, text: str) -> None:
        super().__init__(text)
        self.delivered = delivered


def _libpcap_batches(path: str, link_type: int, batch_size: int) -> Iterator[Batch]:
    if pcapy is None:
        raise LibpcapFailed(0, "libpcap is not available (the Python package pcapy-ng is missing)")
    try:
        reader = pcapy.open_offline(path)
    except pcapy.PcapError as error:
        raise LibpcapFailed(0, str(error)) from None
    frame = 1
    wanted = min(batch_size, 1024)                 # a first small batch, to learn the packet sizes
    while True:
        try:
            data, meta = reader.next_batch(wanted)
        except pcapy.PcapError as error:
            raise LibpcapFailed(frame - 1, str(error)) from None
        if not meta:
            return
        # (sec, usec, offset, caplen) as native uint32, one row per packet
        rows = np.frombuffer(meta, dtype=np.uint32).reshape(-1, 4)
        times = rows[:, 0] + rows[:, 1] * 1e-6
        yield Batch(link_type, data, rows[:, 2].astype(np.int64), rows[:, 3].astype(np.int64), times, frame)
        frame += len(rows)
        # libpcap counts packets, not octets: keep a batch near BATCH_OCTETS whatever the packet sizes.
        wanted = int(min(batch_size, max(256, BATCH_OCTETS * len(rows) // max(len(data), 1))))


def _pcapng_has_frames_without_packets(path: str, order: str) -> bool:
    """Whether a pcapng file holds custom or journal blocks (Wireshark numbers them, libpcap skips them).

    Blocks start at multiples of 4, so a vectorised compare over the file as 32-bit words finds every
    candidate; a candidate is real when its trailing length field repeats its leading one."""
    wanted = np.array([JOURNAL, *CUSTOM_BLOCKS], dtype=np.uint32)
    dtype = np.dtype(order + "u4")
    buffer = bytearray(CHUNK)
    words = np.frombuffer(buffer, dtype=dtype)
    checks = 0
    with open(path, "rb", buffering=0) as file:
        base = 0
        while True:
            got = file.readinto(buffer)
            if got < 4:
                return False
            view = words[:got // 4]
            found = (view == wanted[0]) | (view == wanted[1]) | (view == wanted[2])
            for index in np.flatnonzero(found).tolist():
                checks += 1
                if checks > 10000:
                    return True                       # suspiciously many: let the exact reader decide
                if _looks_like_block(file, base + index * 4, order):
                    return True
            base += got - got % 4
            if got % 4:
                file.seek(base)


def _looks_like_block(file: BinaryIO, position: int, order: str) -> bool:
    here = file.tell()
    try:
        file.seek(position + 4)
        head = file.read(4)
        if len(head) < 4:
            return False
        length = struct.unpack(order + "I", head)[0]
        if length < 12 or length % 4 or length > 1 << 24:
            return False
        file.seek(position + length - 4)
        tail = file.read(4)
        return len(tail) == 4 and struct.unpack(order + "I", tail)[0] == length
    finally:
        file.seek(here)


def _first_pcapng_link_type(path: str) -> tuple[str, int | None]:
    """Byte order of the first section and the link type of its first interface (if near the start)."""
    with open(path, "rb") as file:
        head = file.read(1 << 16)
    if len(head) < 12:
        return "<", None
    order = "<" if head[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    pos = 0
    while pos + 12 <= len(head):
        block_type, length = struct.unpack_from(order + "II", head, pos)
        if length < 12 or length % 4:
            break
        if block_type == IDB and pos + 12 <= len(head):
            return order, struct.unpack_from(order + "H", head, pos + 8)[0]
        if block_type in (EPB, SPB, PB):
            break
        pos += length
    return order, None


# --- the user's filter on files -------------------------------------------------------------------------
class FrameFilter:
    """tcpdump's `-f` (its filter expression) applied to the frames of a file: compiled by libpcap for each
    link type met, run on every frame; a batch is cut into runs of passing frames, so that frame numbers
    stay those of the file. Raises CaptureError (one line) without libpcap or for a filter it refuses."""

    def __init__(self, text: str) -> None:
        if pcapy is None:
            raise CaptureError(f"-f {text!r} on a file needs libpcap through the Python package pcapy-ng, "
                               "which cannot be imported")
        self.text = text
        self.programs: dict[int, Any] = {}
        self._compile(1)

    def _compile(self, link_type: int) -> Any:
        program = self.programs.get(link_type)
        if program is None:
            try:
                program = self.programs[link_type] = pcapy.compile(link_type, 262144, self.text, 1, 0)
            except (pcapy.PcapError, pcapy.BPFError) as error:
                raise CaptureError(f"bad capture filter (-f {self.text!r}: {error})") from None
        return program

    def apply(self, batch: Batch) -> Iterator[Batch]:
        program = self._compile(batch.link_type)
        passed = np.fromiter((program.filter(batch.packet(index)) > 0 for index in range(len(batch))),
                             dtype=bool, count=len(batch))
        if passed.all():
            yield batch
            return
        edges = np.flatnonzero(np.diff(np.concatenate(([False], passed, [False])).astype(np.int8)))
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            yield Batch(batch.link_type, batch.data, batch.offsets[start:end], batch.lengths[start:end],
                        batch.times[start:end], batch.first_frame + int(start))


# --- the file source ------------------------------------------------------------------------------------
class FileSource:
    """Batches from a capture file or standard input, by libpcap when it can, else in Python."""

    def __init__(self, source: str, reader: str = "auto", batch_size: int = DEFAULT_BATCH,
                 bpf: str | None = None) -> None:
        if reader not in ("auto", "libpcap", "python"):
            raise ValueError(f"unknown reader {reader!r}")
        self.frame_filter = FrameFilter(bpf) if bpf else None
        """The user's -f: frames that fail it are left out of the batches."""
        self.opened = open_capture(source)
        self.name = self.opened.name
        self.batch_size = batch_size
        self.reader_used = "python"
        """Which reader delivered the frames ('libpcap', 'python', or 'libpcap+python' after a fallback)."""
        self._use_libpcap = reader != "python" and self.opened.path is not None
        self._link_type = 1
        if self._use_libpcap and self.opened.path is not None:
            if self.opened.format == "pcap":
                with open(self.opened.path, "rb") as file:
                    header = file.read(24)
                if len(header) >= 24:
                    order = PCAP_MAGICS[header[:4]][0]
                    self._link_type = struct.unpack_from(order + "I", header, 20)[0] & 0x0FFFFFFF
            else:
                order, link_type = _first_pcapng_link_type(self.opened.path)
                if link_type is None or (reader == "auto" and
                                         _pcapng_has_frames_without_packets(self.opened.path, order)):
                    self._use_libpcap = False
                else:
                    self._link_type = link_type

    def close(self) -> None:
        if self.opened.stream is not sys.stdin.buffer:
            try:
                self.opened.stream.close()
            except OSError:
                pass

    def batches(self) -> Iterator[Batch]:
        if self.frame_filter is None:
            yield from self._batches()
            return
        for batch in self._batches():
            yield from self.frame_filter.apply(batch)

    def _batches(self) -> Iterator[Batch]:
        try:
            skip = 0
            if self._use_libpcap and self.opened.path is not None:
                self.reader_used = "libpcap"
                try:
                    yield from _libpcap_batches(self.opened.path, self._link_type, self.batch_size)
                    return
                except LibpcapFailed as failure:
                    skip = failure.delivered
                    self.reader_used = "libpcap+python" if skip else "python"
                self._reopen()
            python_reader = _pcap_batches if self.opened.format == "pcap" else _pcapng_batches
            yield from python_reader(self.opened, self.batch_size, skip)
        finally:
            self.close()

    def _reopen(self) -> None:
        assert self.opened.path is not None
        self.close()
        try:
            stream = open(self.opened.path, "rb")  # noqa: SIM115
        except OSError as error:
            raise SourceStopped(0, 0.0, f"cannot reopen: {_describe_os_error(error)}") from None
        self.opened.stream = stream
