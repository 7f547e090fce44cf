"""Make the custom prompts of extensions_callcenter.conf: spoken by espeak-ng, as Asterisk plays WAVs.

    python3 dialplans/sounds/make_prompts.py [--voice es-419] [--out dialplans/sounds]

Reads prompts.tsv (file name, Spanish text), speaks each with espeak-ng (apt-get install
espeak-ng) and writes <name>.wav as format_wav reads it: 8 kHz, mono, 16-bit. Edit the texts
to your help desk's and run it again, or record your own voice under the same names.
"""

from __future__ import annotations

import argparse
import array
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

HERE = Path(__file__).resolve().parent
RATE = 8000


def resample(samples: array.array[int], rate: int) -> array.array[int]:
    """Linear interpolation to RATE: speech from espeak-ng (22.05 kHz) has little above 4 kHz."""
    out = array.array("h")
    step = rate / RATE
    for i in range(int(len(samples) / step)):
        x = i * step
        j = int(x)
        frac = x - j
        nxt = samples[j + 1] if j + 1 < len(samples) else samples[j]
        out.append(round(samples[j] * (1 - frac) + nxt * frac))
    return out


def speak(text: str, voice: str, target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text], check=True, timeout=60)
        with wave.open(str(raw)) as w:
            if (w.getnchannels(), w.getsampwidth()) != (1, 2):
                raise SystemExit(f"{raw}: expected mono 16-bit from espeak-ng")
            samples = array.array("h", w.readframes(w.getnframes()))
            rate = w.getframerate()
    if sys.byteorder == "big":
        samples.byteswap()
    pcm = resample(samples, rate)
    if sys.byteorder == "big":
        pcm.byteswap()
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--voice", default="es-419", help="an espeak-ng voice (es-419: Latin American Spanish)"
    )
    parser.add_argument("--out", default=str(HERE))
    args = parser.parse_args()
    for line in (HERE / "prompts.tsv").read_text(encoding="utf-8").splitlines():
        name, _, text = line.partition("\t")
        if name and text:
            speak(text, args.voice, Path(args.out) / f"{name}.wav")
            print(f"wrote {Path(args.out) / name}.wav")


if __name__ == "__main__":
    main()
