import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProbeFailed } from './media-tool.ts';
import { fluentFfmpegTool, stableToolMessage } from './fluent-ffmpeg-tool.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffmpeg-tool-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('tool messages', () => {
  it('drop the memory address from ffmpeg component prefixes', () => {
    expect(stableToolMessage('[mp3 @ 0x55b7c02fd240] Failed to read frame size: Could not seek to 6007.')).toBe(
      '[mp3] Failed to read frame size: Could not seek to 6007.',
    );
    expect(stableToolMessage('no address here [x]')).toBe('no address here [x]');
  });

  it('give a damaged file the same reason on every probe (real ffprobe)', async () => {
    // An ID3 tag that claims more bytes than follow, then bytes no decoder can frame: ffprobe names the
    // mp3 demuxer with its heap address in the message.
    const body = Buffer.alloc(5000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7919 + 13) % 251;
    const file = path.join(dir, 'damaged.mp3');
    fs.writeFileSync(file, Buffer.concat([Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x10', 'latin1'), body]));
    const tool = fluentFfmpegTool();
    const reasons = await Promise.all(
      [1, 2, 3].map(() => tool.probe(file).then(() => 'accepted', (err: ProbeFailed) => err.message)),
    );
    expect(reasons[0]).toContain('[mp3] ');
    expect(new Set(reasons).size).toBe(1);
  });
});
