// Test-only preload (`node --import`): reports every package the process loads, on stderr as
// `IMPORT <specifier>` lines, for both ESM imports (a resolve hook) and CommonJS require (Module._load),
// and every file module it loads through ESM as `MODULE <url>`.
import Module, { register } from 'node:module';

const bare = (s) => typeof s === 'string' && !s.startsWith('.') && !s.startsWith('/') && !s.startsWith('node:') && !s.startsWith('file:') && !s.startsWith('data:');

register(
  'data:text/javascript,' +
    encodeURIComponent(`
export async function resolve(specifier, context, next) {
  const b = ${bare.toString()};
  if (b(specifier)) process.stderr.write('IMPORT ' + specifier + '\\n');
  const resolved = await next(specifier, context);
  if (resolved.url.startsWith('file:')) process.stderr.write('MODULE ' + resolved.url + '\\n');
  return resolved;
}`),
);

const load = Module._load;
Module._load = function (request, ...rest) {
  if (bare(request)) process.stderr.write('IMPORT ' + request + '\n');
  return load.call(this, request, ...rest);
};
