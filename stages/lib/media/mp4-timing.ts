// Frame timing of an MP4/MOV file's first video track, read straight from its sample table (moov → trak →
// mdia → mdhd/hdlr/minf → stbl → stts) in a few milliseconds, without starting ffprobe (~150 ms of dynamic
// linking on a typical distro build). It is a *guess* of what ffprobe will say: callers use it to start
// work early and must confirm it with ffprobe. null when the file is not an ISO-BMFF/QuickTime file or
// the table cannot be read.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isVariableRate } from './probe.js';

export interface TimingGuess {
  /** Base rate (as ffprobe's r_frame_rate would be). */
  fps: number;
  /** Frames / duration (as avg_frame_rate). */
  avg_fps: number;
  vfr: boolean;
  frames: number;
}

/** A moov bigger than this is not read (a guess is not worth it). A 3-minute 60 fps phone video has ~0.3 MB. */
const MAX_MOOV_BYTES = 16 * 1024 * 1024;
const MAX_TOP_LEVEL_BOXES = 1000;

export interface Box {
  type: string;
  /** Offset of the payload and its length, within the buffer the box was found in. */
  start: number;
  end: number;
}

/** Child boxes of a container payload buf[start, end). */
export function children(buf: Buffer, start: number, end: number): Box[] {
  const out: Box[] = [];
  let at = start;
  while (at + 8 <= end) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) break;
      size = Number(buf.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) size = end - at;
    if (size < header || at + size > end) break;
    out.push({ type, start: at + header, end: at + size });
    at += size;
  }
  return out;
}

const child = (buf: Buffer, box: Box, type: string): Box | undefined => children(buf, box.start, box.end).find((b) => b.type === type);

/**
 * Reads the top-level box headers until `moov`, then the whole moov. Synchronous on purpose: a few small
 * reads (well under a millisecond) cost less than the thread-pool round trips of the async API, and the
 * caller wants the answer before it starts ffmpeg.
 */
function readMoov(path: string): Buffer | null {
  const fd = openSync(path, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    const head = Buffer.alloc(16);
    let at = 0;
    for (let n = 0; n < MAX_TOP_LEVEL_BOXES && at + 8 <= fileSize; n++) {
      const bytesRead = readSync(fd, head, 0, 16, at);
      if (bytesRead < 8) return null;
      let size = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      let header = 8;
      if (size === 1) {
        if (bytesRead < 16) return null;
        size = Number(head.readBigUInt64BE(8));
        header = 16;
      } else if (size === 0) size = fileSize - at;
      if (size < header || at + size > fileSize) return null;
      if (n === 0 && type !== 'ftyp' && type !== 'moov' && type !== 'wide' && type !== 'mdat' && type !== 'free') return null;
      if (type === 'moov') {
        if (size > MAX_MOOV_BYTES) return null;
        const moov = Buffer.alloc(size - header);
        return readSync(fd, moov, 0, moov.length, at + header) === moov.length ? moov : null;
      }
      at += size;
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/** stts entries (sample count, sample duration) of the first video track, with its timescale. */
function videoTiming(moov: Buffer): { timescale: number; stts: [number, number][] } | null {
  for (const trak of children(moov, 0, moov.length).filter((b) => b.type === 'trak')) {
    const mdia = child(moov, trak, 'mdia');
    if (!mdia) continue;
    const hdlr = child(moov, mdia, 'hdlr');
    // hdlr payload: version/flags (4), pre_defined (4), handler_type (4).
    if (!hdlr || hdlr.end - hdlr.start < 12 || moov.toString('latin1', hdlr.start + 8, hdlr.start + 12) !== 'vide') continue;
    const mdhd = child(moov, mdia, 'mdhd');
    const stbl = (() => {
      const minf = child(moov, mdia, 'minf');
      return minf && child(moov, minf, 'stbl');
    })();
    const stts = stbl && child(moov, stbl, 'stts');
    if (!mdhd || !stts || mdhd.end - mdhd.start < 24) return null;
    // mdhd: version 0 has 32-bit creation/modification times before the timescale, version 1 64-bit ones.
    const timescale = moov.readUInt32BE(mdhd.start + (moov[mdhd.start] === 1 ? 20 : 12));
    if (stts.end - stts.start < 8) return null;
    const count = moov.readUInt32BE(stts.start + 4);
    if (stts.start + 8 + count * 8 > stts.end) return null;
    const entries: [number, number][] = [];
    for (let i = 0; i < count; i++) entries.push([moov.readUInt32BE(stts.start + 8 + i * 8), moov.readUInt32BE(stts.start + 12 + i * 8)]);
    return { timescale, stts: entries };
  }
  return null;
}

/**
 * What ffprobe will probably report for the rates. r_frame_rate: mov.c takes the sample duration when all
 * samples (or all but the last) share it; otherwise ffmpeg estimates the lowest rate that represents every
 * timestamp, which for frames dropped from a constant rate is the shortest duration. avg_frame_rate:
 * frames / summed durations.
 */
export function timingFromStts(timescale: number, stts: readonly (readonly [number, number])[]): TimingGuess | null {
  const entries = stts.filter(([count, delta]) => count > 0 && delta > 0);
  if (timescale <= 0 || entries.length === 0) return null;
  let frames = 0;
  let ticks = 0;
  for (const [count, delta] of entries) {
    frames += count;
    ticks += count * delta;
  }
  // A last single sample often has its own duration (the muxer's guess); it says nothing about the rate.
  const body = entries.length > 1 && entries[entries.length - 1]![0] === 1 ? entries.slice(0, -1) : entries;
  let shortest = Infinity;
  for (const [, delta] of body) shortest = Math.min(shortest, delta);
  const fps = timescale / shortest;
  const avg = (frames * timescale) / ticks;
  return { fps, avg_fps: avg, vfr: isVariableRate(fps, avg), frames };
}

/** The frame timing of an MP4/MOV file's first video track, or null (not such a file, or unreadable). */
export function guessTiming(path: string): TimingGuess | null {
  try {
    const moov = readMoov(path);
    const timing = moov && videoTiming(moov);
    return timing ? timingFromStts(timing.timescale, timing.stts) : null;
  } catch {
    return null;
  }
}
