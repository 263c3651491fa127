import {
  GGML_FILE_MAGIC,
  GGML_TYPE_F16,
  GGML_TYPE_F32,
  HPARAM_ORDER,
  type WhisperHparams,
} from './generate-model.ts';

export interface ParsedTensor {
  name: string;
  ne: number[];
  type: number;
  /** Byte offset of the tensor data in the file. */
  offset: number;
  byteLength: number;
}

export interface ParsedWhisperModel {
  magic: number;
  hparams: WhisperHparams;
  mel: { nMel: number; nFft: number; data: Float32Array };
  vocab: string[];
  tensors: ParsedTensor[];
}

/**
 * Parses a legacy-ggml whisper model the way whisper.cpp's `whisper_model_load` reads it (header,
 * hparams, mel filters, vocab, then tensor records until the end). Throws on a truncated or unknown
 * layout. Meant for tests and inspection, so it copies the small parts and only indexes tensor data.
 */
export function parseWhisperModel(buf: Uint8Array): ParsedWhisperModel {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let off = 0;
  const need = (n: number) => {
    if (off + n > buf.length) throw new Error(`truncated model: need ${n} bytes at offset ${off}`);
  };
  const i32 = () => {
    need(4);
    const v = view.getInt32(off, true);
    off += 4;
    return v;
  };

  need(4);
  const magic = view.getUint32(0, true);
  off = 4;
  if (magic !== GGML_FILE_MAGIC) throw new Error(`bad magic 0x${magic.toString(16)}`);
  const hparams = {} as WhisperHparams;
  for (const k of HPARAM_ORDER) hparams[k] = i32();

  const nMel = i32();
  const nFft = i32();
  need(4 * nMel * nFft);
  const data = new Float32Array(nMel * nFft);
  for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(off + 4 * i, true);
  off += 4 * nMel * nFft;

  const nTokens = i32();
  const vocab: string[] = [];
  for (let i = 0; i < nTokens; i++) {
    const len = i32() >>> 0; // u32 on disk
    need(len);
    vocab.push(decoder.decode(buf.subarray(off, off + len)));
    off += len;
  }

  const tensors: ParsedTensor[] = [];
  while (off < buf.length) {
    const nDims = i32();
    const nameLen = i32();
    const type = i32();
    const ne: number[] = [];
    for (let i = 0; i < nDims; i++) ne.push(i32());
    need(nameLen);
    const name = decoder.decode(buf.subarray(off, off + nameLen));
    off += nameLen;
    if (type !== GGML_TYPE_F32 && type !== GGML_TYPE_F16)
      throw new Error(`${name}: unsupported type ${type}`);
    const byteLength = ne.reduce((a, b) => a * b, 1) * (type === GGML_TYPE_F16 ? 2 : 4);
    need(byteLength);
    tensors.push({ name, ne, type, offset: off, byteLength });
    off += byteLength;
  }
  return { magic, hparams, mel: { nMel, nFft, data }, vocab, tensors };
}
