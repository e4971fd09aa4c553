"""Voice: speech to text and text to speech on OpenAI-compatible endpoints, and the audio facts a
Discord voice message needs.

- :func:`transcribe`: ``POST /audio/transcriptions`` (multipart file + model) → ``{"text": ...}``
  (OpenAI Whisper, a local faster-whisper server, Groq...).
- :func:`speak`: ``POST /audio/speech`` (``model``, ``input``, ``voice``, ``response_format``) →
  audio bytes. We ask for ``opus``, which OpenAI-compatible servers answer as Ogg/Opus: the
  container of a Discord voice message. A server that answers WAV anyway is re-encoded to Ogg/Opus
  when an Opus encoder is at hand; anything else is posted as an audio file.
- A voice message also needs its duration and a waveform (up to 256 amplitude bytes, base64):
  :func:`ogg_opus_facts` reads the Ogg pages (pure Python) for the duration and decodes the Opus
  packets with libopus for the waveform. The codec comes from the shell (``discord.opus``, which
  wraps the system's libopus); the engine never imports Discord. Without it the waveform is flat.
"""

from __future__ import annotations

import base64
import io
import struct
import wave
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional, Protocol, Tuple

import openai

from ..errors import InvalidValue, SkynetError
from ..i18n import _

MAX_AUDIO_BYTES = 25 * 1024 * 1024  # OpenAI's transcription upload limit
MAX_SPEECH_CHARS = 4096  # /audio/speech's input limit
SAMPLE_RATE = 48_000  # Opus in Ogg always counts granules at 48 kHz
FRAME_MS = 20
WAVEFORM_POINTS = 256
VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse")
AUDIO_EXTENSIONS = ("ogg", "oga", "opus", "mp3", "wav", "m4a", "mp4", "mpeg", "mpga", "webm", "flac")


class AudioRefused(SkynetError):
    kind = "audio_refused"


class OpusCodec(Protocol):
    """What the shell hands in (``discord.opus``): encoders and decoders of 48 kHz stereo PCM."""

    def encoder(self) -> Callable[[bytes, int], bytes]: ...

    def decoder(self) -> Callable[[bytes], bytes]: ...


@dataclass(frozen=True)
class Speech:
    data: bytes
    mime: str  # audio/ogg (Opus), audio/wav, audio/mpeg, application/octet-stream
    characters: int

    @property
    def extension(self) -> str:
        return {"audio/ogg": "ogg", "audio/wav": "wav", "audio/mpeg": "mp3", "audio/flac": "flac"}.get(
            self.mime, "bin"
        )


@dataclass(frozen=True)
class VoiceFacts:
    """What Discord shows for a voice message."""

    seconds: float
    waveform: str  # base64 of at most 256 amplitude bytes


def sniff_audio(head: bytes) -> str:
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    return "application/octet-stream"


def is_audio_name(filename: str, content_type: Optional[str] = None) -> bool:
    if content_type and content_type.split(";")[0].strip().startswith("audio/"):
        return True
    return filename.rpartition(".")[2].lower() in AUDIO_EXTENSIONS


def parse_voice(text: str) -> str:
    value = str(text).strip().lower()
    if not value or len(value) > 40 or not all(ch.isalnum() or ch in "-_." for ch in value):
        raise InvalidValue(
            _("`{value}` is not a voice name; OpenAI's voices are {voices}.").format(
                value=str(text)[:30], voices=", ".join(f"`{v}`" for v in VOICES)
            )
        )
    return value


# --------------------------------------------------------------------------- provider calls


async def transcribe(
    client: openai.AsyncOpenAI, model: str, audio: bytes, filename: str, *, language: Optional[str] = None
) -> str:
    """The text spoken in ``audio`` (an Ogg, MP3, WAV… file)."""
    if not audio:
        raise AudioRefused(_("That audio file is empty."))
    if len(audio) > MAX_AUDIO_BYTES:
        raise AudioRefused(
            _("That audio file is too large to transcribe (the limit is {mb} MB).").format(
                mb=MAX_AUDIO_BYTES // (1024 * 1024)
            )
        )
    options = {"language": language} if language else {}
    result = await client.audio.transcriptions.create(
        model=model, file=(filename, audio, sniff_audio(audio[:16])), **options
    )
    text = result if isinstance(result, str) else getattr(result, "text", "")
    return " ".join(str(text or "").split())


async def speak(
    client: openai.AsyncOpenAI, model: str, text: str, *, voice: str = "alloy", response_format: str = "opus"
) -> Speech:
    """``text`` spoken by ``voice``; cut at the endpoint's input limit."""
    text = text.strip()[:MAX_SPEECH_CHARS]
    if not text:
        raise AudioRefused(_("There is no text to speak."))
    response = await client.audio.speech.create(
        model=model, voice=voice, input=text, response_format=response_format
    )
    data = response.content
    if not data:
        raise AudioRefused(_("`{model}` answered without audio.").format(model=model))
    return Speech(data, sniff_audio(data[:16]), len(text))


def audio_seconds(data: bytes, *, known: Optional[float] = None) -> float:
    """How long ``data`` plays: ``known`` (Discord gives it for voice messages), the WAV or Ogg
    header, else an estimate at 32 kbit/s (what transcription prices are charged on)."""
    if known:
        return float(known)
    mime = sniff_audio(data[:16])
    try:
        if mime == "audio/wav":
            with wave.open(io.BytesIO(data)) as reader:
                return reader.getnframes() / float(reader.getframerate() or 1)
        if mime == "audio/ogg":
            return ogg_duration(data)
    except (wave.Error, EOFError, struct.error, ValueError):
        pass
    return len(data) / 4000.0


# --------------------------------------------------------------------------- Ogg/Opus


def ogg_packets(data: bytes) -> Iterator[Tuple[bytes, int]]:
    """The packets of an Ogg stream with the granule position of the page that ends them."""
    pos, partial = 0, b""
    while pos + 27 <= len(data):
        if data[pos : pos + 4] != b"OggS":
            raise ValueError("not an Ogg page")
        granule = struct.unpack_from("<q", data, pos + 6)[0]
        count = data[pos + 26]
        lacing = data[pos + 27 : pos + 27 + count]
        body = pos + 27 + count
        for size in lacing:
            partial += data[body : body + size]
            body += size
            if size < 255:
                yield partial, granule
                partial = b""
        pos = body


def ogg_duration(data: bytes) -> float:
    """Seconds of an Ogg/Opus stream: the last granule position minus the pre-skip, at 48 kHz."""
    preskip, last = 0, 0
    for packet, granule in ogg_packets(data):
        if packet.startswith(b"OpusHead") and len(packet) >= 12:
            preskip = struct.unpack_from("<H", packet, 10)[0]
        if granule > 0:
            last = granule
    return max(0.0, (last - preskip) / SAMPLE_RATE)


def waveform(pcm_frames: List[bytes], points: int) -> str:
    """Base64 amplitude bytes (0-255) of 16-bit PCM frames, in ``points`` buckets."""
    import array

    levels: List[float] = []
    for frame in pcm_frames:
        samples = array.array("h")
        samples.frombytes(frame[: len(frame) // 2 * 2])
        levels.append(max((abs(s) for s in samples), default=0) / 32768.0)
    if not levels:
        return base64.b64encode(bytes(points or 1)).decode("ascii")
    points = max(1, min(points, len(levels)))
    step = len(levels) / points
    values = [max(levels[int(i * step) : max(int(i * step) + 1, int((i + 1) * step))]) for i in range(points)]
    return base64.b64encode(bytes(min(255, int(v * 255)) for v in values)).decode("ascii")


def ogg_opus_facts(data: bytes, decoder: Optional[Callable[[bytes], bytes]] = None) -> VoiceFacts:
    """Duration and waveform of an Ogg/Opus file (flat when no ``decoder`` is given)."""
    seconds = ogg_duration(data)
    points = max(1, min(WAVEFORM_POINTS, int(seconds * 10)))
    frames: List[bytes] = []
    if decoder is not None:
        for packet, _granule in ogg_packets(data):
            if packet.startswith((b"OpusHead", b"OpusTags")):
                continue
            try:
                frames.append(decoder(packet))
            except Exception:  # a damaged packet: its level is simply missing
                continue
    if not frames:
        return VoiceFacts(seconds, base64.b64encode(bytes([128] * points)).decode("ascii"))
    return VoiceFacts(seconds, waveform(frames, points))


def _crc_table() -> List[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _bit in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
        table.append(crc & 0xFFFFFFFF)
    return table


_CRC = _crc_table()


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC[((crc >> 24) & 0xFF) ^ byte]
    return crc


def _ogg_page(packets: List[bytes], granule: int, serial: int, sequence: int, flags: int) -> bytes:
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing))
    page = bytearray(header + bytes(lacing) + b"".join(packets))
    struct.pack_into("<I", page, 22, _ogg_crc(bytes(page)))
    return bytes(page)


def pcm_to_ogg_opus(pcm: bytes, encode: Callable[[bytes, int], bytes], *, serial: int = 0x5C1E7) -> bytes:
    """48 kHz stereo 16-bit PCM → an Ogg/Opus file (20 ms packets, one page per second)."""
    frame_samples = SAMPLE_RATE * FRAME_MS // 1000
    frame_bytes = frame_samples * 4
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 2, 312, SAMPLE_RATE, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 6) + b"skynet" + struct.pack("<I", 0)
    pages = [_ogg_page([head], 0, serial, 0, 0x02), _ogg_page([tags], 0, serial, 1, 0)]
    packets: List[bytes] = []
    granule = 312  # the pre-skip
    frames = max(1, -(-len(pcm) // frame_bytes))
    for index in range(frames):
        frame = pcm[index * frame_bytes : (index + 1) * frame_bytes]
        frame = frame + bytes(frame_bytes - len(frame))
        packets.append(encode(frame, frame_samples))
        granule += frame_samples
        last = index == frames - 1
        if len(packets) == 50 or last:
            pages.append(_ogg_page(packets, granule, serial, len(pages), 0x04 if last else 0))
            packets = []
    return b"".join(pages)


def wav_to_pcm48k_stereo(data: bytes) -> bytes:
    """A WAV file (8/16-bit, any rate, mono or stereo) as 48 kHz stereo 16-bit PCM."""
    import numpy

    with wave.open(io.BytesIO(data)) as reader:
        channels, width, rate = reader.getnchannels(), reader.getsampwidth(), reader.getframerate()
        raw = reader.readframes(reader.getnframes())
    if width == 1:
        samples = (numpy.frombuffer(raw, numpy.uint8).astype(numpy.int16) - 128) << 8
    elif width == 2:
        samples = numpy.frombuffer(raw, "<i2")
    else:
        raise AudioRefused(_("Only 8- and 16-bit WAV audio can be turned into a voice message."))
    samples = samples.reshape(-1, channels).astype(numpy.float32)
    mono = samples.mean(axis=1) if channels > 1 else samples[:, 0]
    if rate != SAMPLE_RATE and len(mono):
        positions = numpy.arange(0, len(mono), rate / SAMPLE_RATE)
        mono = numpy.interp(positions, numpy.arange(len(mono)), mono)
    stereo = numpy.repeat(numpy.clip(mono, -32768, 32767).astype("<i2"), 2)
    return stereo.tobytes()
