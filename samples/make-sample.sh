#!/usr/bin/env bash
# Regenerates samples/ielts-part1-sample.ogg: a short IELTS Speaking Part 1 exchange, synthesised with
# espeak-ng (examiner: en-gb, candidate: en-us), a pause between turns, encoded as 16 kHz mono Opus
# (≈ 29 s, ≈ 60 KB). Speech synthesis is deterministic for one espeak-ng version, so re-running this
# gives the same words and timing; the bytes may differ between espeak-ng/ffmpeg versions.
# Needs espeak-ng and ffmpeg (scripts/setup installs both).
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The turns, one per line ("examiner: …" / "candidate: …"), are ielts-part1-sample.txt: the tests read
# the same file as the words the transcript must hold.
n=0
while IFS= read -r line; do
  n=$((n + 1))
  case "$line" in
    examiner:*) espeak-ng -v en-gb -s 165 -w "$tmp/t$n.wav" "${line#examiner: }" ;;
    candidate:*) espeak-ng -v en-us -s 160 -w "$tmp/t$n.wav" "${line#candidate: }" ;;
  esac
done < ielts-part1-sample.txt

ffmpeg -hide_banner -loglevel error -f lavfi -t 0.8 -i anullsrc=r=22050:cl=mono "$tmp/pause.wav"
printf "file '%s'\n" t1.wav pause.wav t2.wav pause.wav t3.wav pause.wav t4.wav > "$tmp/list.txt"
ffmpeg -hide_banner -loglevel error -y -f concat -safe 0 -i "$tmp/list.txt" \
  -ac 1 -ar 16000 -c:a libopus -b:a 20k -map_metadata -1 -fflags +bitexact ielts-part1-sample.ogg
ffprobe -hide_banner -loglevel error -show_entries format=duration -of csv=p=0 ielts-part1-sample.ogg |
  xargs printf 'samples/ielts-part1-sample.ogg: %.1f s\n'
