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

say() { espeak-ng -v "$1" -s "$2" -w "$tmp/$3.wav" "$4"; }
say en-gb 165 q1 "Let's talk about where you live. Do you live in a house or an apartment?"
say en-us 160 a1 "I live in a small apartment near the city centre. It is quite noisy at night, but I really like it because I can walk to work and there are lots of cafes and parks nearby."
say en-gb 165 q2 "What do you usually do at the weekend?"
say en-us 160 a2 "At the weekend I usually visit my grandparents in the countryside. We cook together, and in the afternoon we go for a long walk by the river."

ffmpeg -hide_banner -loglevel error -f lavfi -t 0.8 -i anullsrc=r=22050:cl=mono "$tmp/pause.wav"
printf "file '%s'\n" q1.wav pause.wav a1.wav pause.wav q2.wav pause.wav a2.wav > "$tmp/list.txt"
ffmpeg -hide_banner -loglevel error -y -f concat -safe 0 -i "$tmp/list.txt" \
  -ac 1 -ar 16000 -c:a libopus -b:a 20k -map_metadata -1 -fflags +bitexact ielts-part1-sample.ogg
ffprobe -hide_banner -loglevel error -show_entries format=duration -of csv=p=0 ielts-part1-sample.ogg |
  xargs printf 'samples/ielts-part1-sample.ogg: %.1f s\n'
