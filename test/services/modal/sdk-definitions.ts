// The gRPC service definitions the fake Modal serves, taken from the SDK the client uses: modal@0.11.1 bundles
// the ts-proto code generated from Modal's protobufs (modal_proto/api.proto → ModalClient, and
// task_command_router.proto → TaskCommandRouter) but does not export it. We copy its dist/index.js into a
// gitignored folder with one extra export line, so the server encodes and decodes with exactly the codecs the
// client was built with: the fake can never drift from the wire format of the pinned SDK.
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TsProtoServiceDefinition } from 'nice-grpc';

export interface ModalServiceDefinitions {
  readonly controlPlane: TsProtoServiceDefinition;
  readonly commandRouter: TsProtoServiceDefinition;
  /** The SDK's version, from its package.json; the fake is written against 0.11.1. */
  readonly sdkVersion: string;
}

const HERE = dirname(fileURLToPath(import.meta.url));
// Inside the repository, so the copy's bare imports (nice-grpc, protobufjs, …) resolve to our node_modules.
const GENERATED = join(HERE, '.generated');

let loaded: Promise<ModalServiceDefinitions> | undefined;

export function loadModalDefinitions(): Promise<ModalServiceDefinitions> {
  loaded ??= (async () => {
    const require = createRequire(import.meta.url);
    const pkgPath = join(dirname(dirname(require.resolve('modal'))), 'package.json');
    const version = (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string }).version;
    const target = join(GENERATED, `modal-${version}-definitions.mjs`);
    if (!existsSync(target)) {
      const source = readFileSync(join(dirname(pkgPath), 'dist', 'index.js'), 'utf8');
      if (!source.includes('var ModalClientDefinition = {') || !source.includes('var TaskCommandRouterDefinition = {')) {
        throw new Error(`modal@${version} no longer bundles ModalClientDefinition/TaskCommandRouterDefinition; update test/services/modal`);
      }
      mkdirSync(GENERATED, { recursive: true });
      // Written whole and renamed into place: parallel test files may generate it at the same time.
      const tmp = `${target}.${process.pid}.tmp`;
      writeFileSync(tmp, `${source}\nexport { ModalClientDefinition as __controlPlane, TaskCommandRouterDefinition as __commandRouter };\n`);
      renameSync(tmp, target);
    }
    const mod = (await import(pathToFileURL(target).href)) as { __controlPlane: TsProtoServiceDefinition; __commandRouter: TsProtoServiceDefinition };
    return { controlPlane: mod.__controlPlane, commandRouter: mod.__commandRouter, sdkVersion: version };
  })();
  return loaded;
}
