// `rallycut push` / `rallycut pull`: move the cache objects behind pipeline.lock's outs (and, with
// --run-cache, the run-cache records) to and from a named cache remote, then (pull) check the outs out.
// Remote layout and consistency rules: src/cache/remote-layout.ts, push.ts, pull.ts.
import { pullCache, type PullResult } from '../../cache/pull.js';
import { pushCache, type PushResult } from '../../cache/push.js';
import { redactorFor } from '../../redact.js';
import { wantedFromOuts, type WantedObject } from '../../cache/remote-layout.js';
import { configError, failure } from '../../diagnostics.js';
import { acquireProjectLock, waitingMessage } from '../../exec/projectlock.js';
import { readLock } from '../../lock/lock.js';
import { resolveNamedRemote } from '../../remote/named.js';
import { cacheDirFor, requireProjectRoot } from '../../project.js';
import { optBool, optNumber, optString, type ParsedArgs } from '../../args.js';
import type { CommandIO, CommandSpec } from '../command.js';
import type { OptionSpec, PositionalSpec } from '../../args.js';
import { checkoutOuts, selectOuts, type CheckoutItem, type LockedOutRef } from './checkout.js';

const DEFAULT_JOBS = 8;

const POSITIONALS: readonly PositionalSpec[] = [
  { name: 'target', description: 'Stages or out paths (default: every out in pipeline.lock)', variadic: true, complete: 'stage' },
];
const OPTIONS: readonly OptionSpec[] = [
  { name: 'remote', short: 'r', type: 'string', placeholder: 'NAME', description: 'Remote to use (default: the default remote)' },
  { name: 'jobs', short: 'j', type: 'number', placeholder: 'N', description: `Parallel transfers (default ${DEFAULT_JOBS})` },
  { name: 'run-cache', type: 'boolean', description: 'Also transfer run-cache records and the objects they point at' },
  { name: 'json', type: 'boolean', description: 'Print a machine-readable result on stdout' },
];

function jobsOf(args: ParsedArgs): number {
  const j = optNumber(args, 'jobs') ?? DEFAULT_JOBS;
  if (!Number.isInteger(j) || j < 1) throw configError(`--jobs must be a whole number ≥ 1, got ${j}`, { subject: '--jobs' });
  return j;
}

interface Selection {
  root: string;
  cacheDir: string;
  refs: LockedOutRef[];
  objects: WantedObject[];
}

async function select(args: ParsedArgs, io: CommandIO): Promise<Selection> {
  const root = requireProjectRoot(io.cwd);
  const refs = selectOuts(await readLock(root), args.positionals);
  return { root, cacheDir: cacheDirFor(root, io.env), refs, objects: refs.flatMap((r) => wantedFromOuts([r.out], (o) => `${o.path} (${r.stage})`)) };
}

function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`;
}

const PUSH_OPTIONS: readonly OptionSpec[] = [
  ...OPTIONS,
  { name: 'dry-run', short: 'n', type: 'boolean', description: 'Only report what the remote is missing (like a cloud status)' },
  { name: 'verify', type: 'boolean', description: "Download the remote's copies and check their sha256; upload a corrupt one again" },
  { name: 'force', type: 'boolean', description: 'Upload every object again, even those the remote has' },
];

function pushCommand(): CommandSpec {
  return {
    path: ['push'],
    summary: 'Upload the cached outs in pipeline.lock to a cache remote',
    description:
      'Uploads the cache objects behind the outs (folders: their manifest and files) that the remote does not\n' +
      'have yet, found with one listing of the remote. Safe to interrupt: a rerun uploads only what is missing.\n' +
      'Each object is re-hashed before it leaves: a corrupt local copy is named and not uploaded. --verify\n' +
      "downloads the remote's copies and uploads a good one over any whose sha256 is wrong; --force uploads all.\n" +
      'Remote layout: files/sha256/ab/cdef… (files), …/ab/cdef….dir (folder manifests), runs/ab/KEY.json.',
    positionals: POSITIONALS,
    options: PUSH_OPTIONS,
    async run(args: ParsedArgs, io: CommandIO) {
      const jobs = jobsOf(args);
      const sel = await select(args, io);
      const { name, remote } = await resolveNamedRemote(sel.root, optString(args, 'remote'), io.env);
      const dryRun = optBool(args, 'dry-run');
      if (!optBool(args, 'json')) io.err(`${dryRun ? 'comparing with' : 'pushing to'} '${name}' (${remote.description})\n`);
      const r: PushResult = await pushCache({
        cacheDir: sel.cacheDir,
        remote,
        objects: sel.objects,
        runCache: optBool(args, 'run-cache'),
        jobs,
        verify: optBool(args, 'verify'),
        force: optBool(args, 'force'),
        dryRun,
        signal: io.signal,
        progressSink: { write: io.err, isTTY: Boolean(io.errTTY), columns: io.errColumns, env: io.env },
        redact: redactorFor(io.env),
      });
      if (io.signal.aborted) throw failure('push interrupted; run it again to upload the rest');
      for (const k of r.corruptOnRemote) io.err(`corrupt on the remote (sha256 mismatch): ${k}; ${dryRun ? 'would upload' : 'uploading'} the local copy\n`);
      const ok = r.failed.length === 0 && r.missingLocally.length === 0;
      if (optBool(args, 'json')) {
        if (ok) io.out(JSON.stringify({ ok: true, ...r, remoteName: name }, null, 2) + '\n');
      } else {
        const runs = optBool(args, 'run-cache')
          ? `; ${r.runsUploaded} run record(s) uploaded${r.runsSkipped ? `, ${r.runsSkipped} kept local (outs not cached)` : ''}`
          : '';
        if (dryRun) io.out(`${r.toUpload} object(s) (${mib(r.toUploadBytes)}) not on the remote yet, ${r.alreadyPresent} already there\n`);
        else io.out(`${r.uploaded} object(s) uploaded (${mib(r.uploadedBytes)}), ${r.alreadyPresent} already on the remote${runs}\n`);
      }
      const notes = [
        ...r.missingLocally.map((m) => `not in the local cache: ${m} (run 'rallycut repro' or 'rallycut pull' first)`),
        ...r.failed.map((f) => `${f.key}: ${f.error}`),
      ];
      if (!ok)
        throw failure(`push to '${name}' incomplete: ${r.failed.length} upload(s) failed, ${r.missingLocally.length} out object(s) not in the local cache`, {
          notes: notes.slice(0, 50),
        });
    },
  };
}

function pullNotes(r: PullResult, problems: readonly CheckoutItem[]): string[] {
  return [
    ...r.corrupt.map((k) => `corrupt on the remote (sha256 mismatch), not used: ${k}`),
    ...r.notOnRemote.map((m) => `not on the remote: ${m}`),
    ...r.failed.map((f) => `${f.key}: ${f.error}`),
    ...problems.map((p) => `${p.path} (${p.stage}): ${p.state === 'modified' ? 'modified in the workspace and not cached; kept' : 'not restored'}`),
  ];
}

function pullCommand(): CommandSpec {
  return {
    path: ['pull'],
    summary: 'Download the cached outs in pipeline.lock from a cache remote and check them out',
    description:
      'Downloads the objects the local cache lacks, verifies each one’s sha256 before it enters the cache\n' +
      '(a corrupt remote object is named and never used), then restores the outs into the workspace like\n' +
      '`rallycut checkout`. With --run-cache, also fetches run-cache records (and their objects), so\n' +
      '`rallycut repro` can reuse runs made on other machines.',
    positionals: POSITIONALS,
    options: OPTIONS,
    async run(args: ParsedArgs, io: CommandIO) {
      const jobs = jobsOf(args);
      const sel = await select(args, io);
      const { name, remote } = await resolveNamedRemote(sel.root, optString(args, 'remote'), io.env);
      const json = optBool(args, 'json');
      if (!json) io.err(`pulling from '${name}' (${remote.description})\n`);
      const projectLock = await acquireProjectLock(sel.root, {
        signal: io.signal,
        onWait: (o) => io.err(waitingMessage(o)),
      });
      let r: PullResult;
      let items: CheckoutItem[];
      try {
        r = await pullCache({
          cacheDir: sel.cacheDir,
          remote,
          objects: sel.objects,
          runCache: optBool(args, 'run-cache'),
          jobs,
          signal: io.signal,
          progressSink: { write: io.err, isTTY: Boolean(io.errTTY), columns: io.errColumns, env: io.env },
        });
        if (io.signal.aborted) throw failure('pull interrupted; run it again to fetch the rest');
        items = await checkoutOuts(sel.root, sel.cacheDir, sel.refs, false);
      } finally {
        await projectLock.release();
      }
      const problems = items.filter((i) => i.state === 'missing' || i.state === 'modified');
      const ok = problems.length === 0 && r.corrupt.length === 0 && r.failed.length === 0 && r.notOnRemote.length === 0;
      if (json) {
        if (ok) io.out(JSON.stringify({ ok: true, ...r, remoteName: name, items }, null, 2) + '\n');
      } else {
        for (const i of items) if (i.state === 'restored') io.out(`restored  ${i.path}  (${i.stage})\n`);
        const restored = items.filter((i) => i.state === 'restored').length;
        const runs = optBool(args, 'run-cache') ? `, ${r.runsDownloaded} run record(s)` : '';
        io.out(
          `${r.downloaded} object(s) downloaded (${mib(r.downloadedBytes)})${runs}; ${restored} out(s) restored, ${items.length - restored - problems.length} already up to date\n`,
        );
      }
      if (!ok) {
        const what = [
          r.corrupt.length && `${r.corrupt.length} corrupt remote object(s)`,
          r.notOnRemote.length && `${r.notOnRemote.length} object(s) missing on the remote`,
          r.failed.length && `${r.failed.length} download(s) failed`,
          problems.length && `${problems.length} out(s) not restored`,
        ].filter(Boolean);
        throw failure(`pull from '${name}' incomplete: ${what.join(', ')}`, { notes: pullNotes(r, problems).slice(0, 50) });
      }
    },
  };
}

export function syncCommands(): CommandSpec[] {
  return [pushCommand(), pullCommand()];
}
