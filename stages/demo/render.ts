// Pixels of one demo frame, drawn in TypeScript: ffmpeg only scales, drops VFR frames and encodes.
//
// Why here and not in an ffmpeg filter graph: runtime commands (sendcmd → drawbox), noise and eq changed
// between ffmpeg builds (4.1's drawbox ignores commands, so nothing moved), and a graph cannot say so. Drawn
// here, the frames are the same bytes whichever ffmpeg encodes them; what ffmpeg still does (select,
// scale with flags=neighbor, transpose) copies pixels without arithmetic, and the demo tests check that two
// builds give the same frames.
//
// The frame is yuv420p at the canvas size; the canvas carries a margin the shaking crop window moves in.

/** A filled rectangle, or a frame of `thickness` pixels when set. Colours are 0xRRGGBB. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
  rgb: number;
  thickness?: number;
}

interface Yuv {
  y: number;
  u: number;
  v: number;
}

/** BT.601 limited range, as ffmpeg converts an RGB colour for a YUV frame. */
export function rgbToYuv(rgb: number): Yuv {
  const r = ((rgb >> 16) & 255) / 255;
  const g = ((rgb >> 8) & 255) / 255;
  const b = (rgb & 255) / 255;
  return {
    y: Math.round(16 + 65.481 * r + 128.553 * g + 24.966 * b),
    u: Math.round(128 - 37.797 * r - 74.203 * g + 112 * b),
    v: Math.round(128 + 112 * r - 93.786 * g - 18.214 * b),
  };
}

/** Full-resolution Y, U and V planes (chroma is subsampled only when a frame is written out). */
export class Planes {
  readonly y: Uint8Array;
  readonly u: Uint8Array;
  readonly v: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.y = new Uint8Array(width * height);
    this.u = new Uint8Array(width * height);
    this.v = new Uint8Array(width * height);
  }

  fill(rgb: number): void {
    const c = rgbToYuv(rgb);
    this.y.fill(c.y);
    this.u.fill(c.u);
    this.v.fill(c.v);
  }

  /** Draws a rectangle clipped to the planes (drawbox semantics: x, y is the top-left pixel). */
  draw(rect: Rect): void {
    const c = rgbToYuv(rect.rgb);
    const x0 = Math.max(0, rect.x);
    const y0 = Math.max(0, rect.y);
    const x1 = Math.min(this.width, rect.x + rect.w);
    const y1 = Math.min(this.height, rect.y + rect.h);
    const t = rect.thickness;
    for (let row = y0; row < y1; row++) {
      const edgeRow = t !== undefined && (row - rect.y < t || rect.y + rect.h - 1 - row < t);
      for (let col = x0; col < x1; col++) {
        if (t !== undefined && !edgeRow && col - rect.x >= t && rect.x + rect.w - 1 - col >= t) continue;
        const i = row * this.width + col;
        this.y[i] = c.y;
        this.u[i] = c.u;
        this.v[i] = c.v;
      }
    }
  }
}

/** Per-frame nuisances that do not depend on the label. */
export interface Look {
  /** Top-left of the crop window on the canvas (whole pixels). */
  cropX: number;
  cropY: number;
  /** eq-style luma adjustment: v' = contrast·(v − ½) + ½ + brightness, on 0..1. */
  brightness: number;
  contrast: number;
}

/** Uniform luma noise in [−strength, strength], a fresh stretch of a fixed table each frame (like noise=…:c0f=t). */
export class NoiseTable {
  private readonly values: Int8Array;

  constructor(
    strength: number,
    next: () => number,
    readonly frameSize: number,
  ) {
    this.values = new Int8Array(frameSize * 2);
    for (let i = 0; i < this.values.length; i++) this.values[i] = Math.floor(next() * (2 * strength + 1)) - strength;
  }

  /** A window of frameSize values starting at a point chosen by `u` in [0, 1). */
  window(u: number): Int8Array {
    const start = Math.floor(u * this.frameSize);
    return this.values.subarray(start, start + this.frameSize);
  }
}

/**
 * The static canvas, ready to crop into yuv420p frames: full-resolution luma, and its chroma subsampled once
 * for each parity of the crop offset (a frame's chroma sample (c, r) is the canvas's at (2c + x, 2r + y)).
 */
export class Canvas {
  private readonly chroma: { u: Uint8Array; v: Uint8Array }[] = [];
  private readonly halfWidth: number;

  constructor(readonly planes: Planes) {
    this.halfWidth = planes.width >> 1;
    const halfHeight = planes.height >> 1;
    for (const dy of [0, 1]) {
      for (const dx of [0, 1]) {
        const u = new Uint8Array(this.halfWidth * halfHeight);
        const v = new Uint8Array(this.halfWidth * halfHeight);
        for (let r = 0; r < halfHeight; r++) {
          for (let c = 0; c < this.halfWidth; c++) {
            const src = Math.min(planes.height - 1, 2 * r + dy) * planes.width + Math.min(planes.width - 1, 2 * c + dx);
            u[r * this.halfWidth + c] = planes.u[src]!;
            v[r * this.halfWidth + c] = planes.v[src]!;
          }
        }
        this.chroma.push({ u, v });
      }
    }
  }

  /**
   * Crops at the look's offset into `out` (yuv420p, width × height), applies the lighting and the noise to
   * luma, and draws the moving rectangles (canvas coordinates, filled) over it.
   */
  renderFrame(width: number, height: number, moving: readonly Rect[], look: Look, noise: Int8Array, out: Uint8Array): void {
    const cw = this.planes.width;
    const lut = new Uint8ClampedArray(256);
    for (let i = 0; i < 256; i++) lut[i] = Math.round(255 * (look.contrast * (i / 255 - 0.5) + 0.5 + look.brightness));
    const luma = new Uint8ClampedArray(out.buffer, out.byteOffset, width * height);
    const y = this.planes.y;
    for (let row = 0; row < height; row++) {
      const s = (row + look.cropY) * cw + look.cropX;
      const o = row * width;
      for (let col = 0; col < width; col++) luma[o + col] = lut[y[s + col]!]! + noise[o + col]!;
    }
    const hw = width >> 1;
    const hh = height >> 1;
    const uOut = width * height;
    const vOut = uOut + hw * hh;
    const phase = this.chroma[(look.cropY & 1) * 2 + (look.cropX & 1)]!;
    for (let row = 0; row < hh; row++) {
      const s = (row + (look.cropY >> 1)) * this.halfWidth + (look.cropX >> 1);
      out.set(phase.u.subarray(s, s + hw), uOut + row * hw);
      out.set(phase.v.subarray(s, s + hw), vOut + row * hw);
    }
    for (const r of moving) {
      const c = rgbToYuv(r.rgb);
      const x0 = Math.max(0, r.x - look.cropX);
      const y0 = Math.max(0, r.y - look.cropY);
      const x1 = Math.min(width, r.x - look.cropX + r.w);
      const y1 = Math.min(height, r.y - look.cropY + r.h);
      const shaded = lut[c.y]!;
      for (let row = y0; row < y1; row++) for (let col = x0; col < x1; col++) luma[row * width + col] = shaded + noise[row * width + col]!;
      for (let row = (y0 + 1) >> 1; 2 * row < y1 && row < hh; row++) {
        for (let col = (x0 + 1) >> 1; 2 * col < x1 && col < hw; col++) {
          out[uOut + row * hw + col] = c.u;
          out[vOut + row * hw + col] = c.v;
        }
      }
    }
  }
}

/** Bytes of one yuv420p frame. */
export const yuv420Size = (width: number, height: number): number => width * height + 2 * (width >> 1) * (height >> 1);
