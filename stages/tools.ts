// What `rallycut doctor` says about the outside tools the stages use. Each path a fresh machine can take is
// named: the bundled ffmpeg when none is on PATH, onnxruntime's CPU build (onnxruntime-node-install=skip only
// skips the optional GPU download), the embedded PGlite when DATABASE_URL is unset (no PostgreSQL needed).
import type { ToolContext, ToolReport } from '../src/handler.js';
import { CUT_FEATURES } from './cut/render.js';
import { DEMO_FEATURES } from './demo/generate.js';
import { DECODE_FEATURES } from './extract-features/decode.js';
import { toDiagnostics } from '../src/handler.js';
import { findFfmpeg } from './lib/ffmpeg.js';
import { describeFfmpeg, GET_FFMPEG, requireFfmpeg } from './lib/ffmpeg-caps.js';
import { redactDatabaseUrl } from './lib/db/connection.js';
import { importOnnxRuntime, onnxruntimeVersion } from './lib/model/onnxruntime.js';
import { PROXY_FEATURES } from './prepare/proxy.js';

const messageOf = (err: unknown): string => toDiagnostics(err)[0]?.message ?? String(err);

async function ffmpegReport(ctx: ToolContext): Promise<ToolReport> {
  try {
    const caps = await requireFfmpeg('rallycut', [...DEMO_FEATURES, ...PROXY_FEATURES, ...DECODE_FEATURES, ...CUT_FEATURES], { cacheDir: ctx.cacheDir });
    return { name: 'ffmpeg', ok: true, detail: describeFfmpeg(findFfmpeg(), caps.version) };
  } catch (err) {
    return { name: 'ffmpeg', ok: false, detail: messageOf(err), hint: GET_FFMPEG };
  }
}

async function onnxruntimeReport(): Promise<ToolReport> {
  try {
    await importOnnxRuntime();
    return { name: 'onnxruntime', ok: true, detail: `onnxruntime-node ${onnxruntimeVersion()} (CPU)` };
  } catch (err) {
    return { name: 'onnxruntime', ok: false, detail: messageOf(err), hint: toDiagnostics(err)[0]?.notes?.join('; ') ?? '' };
  }
}

function databaseReport(ctx: ToolContext): ToolReport {
  const url = ctx.env.DATABASE_URL;
  return url
    ? { name: 'database', ok: true, detail: `PostgreSQL at ${redactDatabaseUrl(url)} (DATABASE_URL)` }
    : { name: 'database', ok: true, detail: `embedded PGlite in ${ctx.cacheDir}/db (no PostgreSQL needed; set DATABASE_URL to use one)` };
}

export async function toolReports(ctx: ToolContext): Promise<ToolReport[]> {
  return Promise.all([ffmpegReport(ctx), onnxruntimeReport(), databaseReport(ctx)]);
}
