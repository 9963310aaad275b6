// `rallycut remote add|list|remove|default`: the named cache remotes in .rallycut/config.yaml (git-tracked,
// locations only; credentials come from the AWS default chain and are never written).
import { configError } from '../../diagnostics.js';
import { remoteFromUrl } from '../../remote/config.js';
import { CONFIG_FILE, checkEndpoint, checkRemoteName, normalizeRemoteUrl, readRemotesConfig, writeRemotesConfig } from '../../remote/named.js';
import { requireProjectRoot } from '../../project.js';
import { redactorFor } from '../../redact.js';
import { optBool, optString, type ParsedArgs } from '../../args.js';
import type { CommandIO, CommandSpec } from '../command.js';

function nameArg(args: ParsedArgs): string {
  const name = args.positionals[0];
  if (!name) throw configError('missing remote NAME');
  checkRemoteName(name);
  return name;
}

function addCommand(): CommandSpec {
  return {
    path: ['remote', 'add'],
    summary: 'Add a cache remote (s3://bucket/prefix or a folder path)',
    description:
      `Records the remote in ${CONFIG_FILE} (commit it so every clone shares it). Credentials are never\n` +
      'stored: S3 uses the AWS default chain (AWS_PROFILE, AWS_ACCESS_KEY_ID…). For MinIO or another\n' +
      'S3-compatible server give --endpoint. A relative folder path is stored relative to the project root.',
    positionals: [
      { name: 'name', description: 'Name of the remote', required: true },
      { name: 'url', description: 's3://bucket/prefix, or a folder path', required: true },
    ],
    options: [
      { name: 'default', short: 'd', type: 'boolean', description: 'Make it the default remote for push/pull' },
      { name: 'endpoint', type: 'string', placeholder: 'URL', description: 'S3-compatible endpoint, e.g. http://127.0.0.1:9000' },
      { name: 'region', type: 'string', description: 'S3 region (default: AWS_REGION, else us-east-1)' },
      { name: 'force', short: 'f', type: 'boolean', description: 'Replace an existing remote of that name' },
    ],
    async run(args: ParsedArgs, io: CommandIO) {
      const root = requireProjectRoot(io.cwd);
      const name = nameArg(args);
      const rawUrl = args.positionals[1];
      if (rawUrl === undefined) throw configError(`missing URL for remote '${name}': use s3://bucket/prefix or a folder path`, { subject: name });
      const url = normalizeRemoteUrl(rawUrl, io.cwd, root);
      const endpoint = optString(args, 'endpoint');
      const region = optString(args, 'region');
      if (endpoint) checkEndpoint(endpoint);
      if ((endpoint || region) && !url.startsWith('s3://'))
        throw configError(`--endpoint and --region apply to s3:// remotes only, not '${rawUrl}'`, { subject: name });
      const cfg = await readRemotesConfig(root);
      if (cfg.remotes[name] && !optBool(args, 'force')) {
        throw configError(`remote '${name}' already exists (${cfg.remotes[name].url}); use --force to replace it`, { file: CONFIG_FILE, subject: name });
      }
      remoteFromUrl(url, root, {}); // the same parse push/pull will do
      cfg.remotes[name] = { url, ...(endpoint ? { endpoint } : {}), ...(region ? { region } : {}) };
      if (optBool(args, 'default') || Object.keys(cfg.remotes).length === 1) cfg.default = name;
      await writeRemotesConfig(root, cfg);
      io.out(`added remote '${name}' → ${url}${endpoint ? ` (endpoint ${endpoint})` : ''}${cfg.default === name ? ' [default]' : ''}\n`);
    },
  };
}

function listCommand(): CommandSpec {
  return {
    path: ['remote', 'list'],
    summary: 'List the cache remotes',
    options: [{ name: 'json', type: 'boolean', description: 'Print a machine-readable result on stdout' }],
    async run(args: ParsedArgs, io: CommandIO) {
      const cfg = await readRemotesConfig(requireProjectRoot(io.cwd));
      const names = Object.keys(cfg.remotes).sort();
      // A hand-edited config may carry credentials in a URL (`remote add` refuses them): never shown.
      const redact = redactorFor(io.env);
      if (optBool(args, 'json')) {
        const remotes = names.map((n) => ({ name: n, ...cfg.remotes[n]!, default: cfg.default === n }));
        io.out(redact(JSON.stringify({ ok: true, remotes }, null, 2)) + '\n');
        return;
      }
      if (!names.length) io.out(`no remotes (add one with 'rallycut remote add NAME s3://bucket/prefix')\n`);
      for (const n of names) {
        const e = cfg.remotes[n]!;
        io.out(
          redact(
            `${n}\t${e.url}${e.endpoint ? `\tendpoint=${e.endpoint}` : ''}${e.region ? `\tregion=${e.region}` : ''}${cfg.default === n ? '\t(default)' : ''}`,
          ) + '\n',
        );
      }
    },
  };
}

/** The project, the remote named by the NAME argument, and the config it must already be in. */
async function existingRemote(args: ParsedArgs, io: CommandIO) {
  const root = requireProjectRoot(io.cwd);
  const name = nameArg(args);
  const cfg = await readRemotesConfig(root);
  if (!cfg.remotes[name]) throw configError(`no remote named '${name}' in ${CONFIG_FILE}`, { file: CONFIG_FILE, subject: name });
  return { root, name, cfg };
}

function removeCommand(): CommandSpec {
  return {
    path: ['remote', 'remove'],
    summary: 'Remove a cache remote from the configuration (its contents are left alone)',
    positionals: [{ name: 'name', description: 'Name of the remote', required: true }],
    options: [],
    async run(args: ParsedArgs, io: CommandIO) {
      const { root, name, cfg } = await existingRemote(args, io);
      delete cfg.remotes[name];
      if (cfg.default === name) delete cfg.default;
      await writeRemotesConfig(root, cfg);
      io.out(`removed remote '${name}'\n`);
    },
  };
}

function defaultCommand(): CommandSpec {
  return {
    path: ['remote', 'default'],
    summary: 'Set the remote push/pull use when -r is not given',
    positionals: [{ name: 'name', description: 'Name of the remote', required: true }],
    options: [],
    async run(args: ParsedArgs, io: CommandIO) {
      const { root, name, cfg } = await existingRemote(args, io);
      cfg.default = name;
      await writeRemotesConfig(root, cfg);
      io.out(`default remote: '${name}'\n`);
    },
  };
}

export function remoteCommands(): CommandSpec[] {
  return [addCommand(), listCommand(), removeCommand(), defaultCommand()];
}
