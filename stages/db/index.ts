// `db init`: create the labels schema (as the web app's Prisma schema has it) in an empty database.
import { optBool, stableJson, type CommandSpec, type StageModule } from '../../src/handler.js';
import { contextFromIO } from '../lib/dataset/context.js';
import { initSchema, openDatabase } from '../lib/db/index.js';

const command: CommandSpec = {
  path: ['db', 'init'],
  summary: 'Create the labels schema (videos, rallies, users) in an empty database',
  description: 'The database is DATABASE_URL, or the embedded PGlite database in <cache>/db when it is not set.',
  options: [{ name: 'json', type: 'boolean', description: 'Print the result as JSON' }],
  async run(args, io) {
    const ctx = contextFromIO(io);
    const db = await openDatabase({ cacheDir: ctx.cacheDir, env: ctx.env, log: ctx.log });
    try {
      const result = await initSchema(db);
      if (optBool(args, 'json')) io.out(stableJson({ ok: true, database: db.description, schema: result }));
      else io.out(result === 'created' ? `created the labels schema in ${db.description}\n` : `the labels schema is already present in ${db.description}\n`);
    } finally {
      await db.close();
    }
  },
};

const module: StageModule = { commands: [command] };
export default module;
