// `db init`: create the labels schema (as the web app's Prisma schema has it) in an empty database.
// `db check`: say whether a database (the web app's, typically) serves export and restore.
import { optBool, stableJson, type CommandSpec, type StageModule } from '../../src/handler.js';
import { contextFromIO } from '../lib/dataset/context.js';
import { checkSchema, initSchema, openDatabase } from '../lib/db/index.js';

const DATABASE_NOTE = 'The database is DATABASE_URL, or the embedded PGlite database in <cache>/db when it is not set.';
const jsonOption = { name: 'json', type: 'boolean', description: 'Print the result as JSON' } as const;

const init: CommandSpec = {
  path: ['db', 'init'],
  summary: 'Create the labels schema (users, sessions, videos, session_videos, rallies) in an empty database',
  description: `${DATABASE_NOTE}\nA database that already has the tables is checked instead, and left unchanged; an embedded one made by an\nolder version gets the tables and columns it lacks.`,
  options: [jsonOption],
  async run(args, io) {
    const ctx = contextFromIO(io);
    const db = await openDatabase({ cacheDir: ctx.cacheDir, env: ctx.env, log: ctx.log });
    try {
      const result = await initSchema(db);
      if (optBool(args, 'json')) io.out(stableJson({ ok: true, database: db.description, schema: result }));
      else {
        const said = {
          created: 'created the labels schema in',
          present: 'the labels schema is already present in',
          upgraded: 'added the missing tables and columns of the labels schema to',
        };
        io.out(`${said[result]} ${db.description}\n`);
      }
    } finally {
      await db.close();
    }
  },
};

const check: CommandSpec = {
  path: ['db', 'check'],
  summary: 'Check that the labels database has the columns, enums and defaults export and restore need',
  description: `${DATABASE_NOTE}\nEach column that differs is named; nothing is changed.`,
  options: [jsonOption],
  async run(args, io) {
    const ctx = contextFromIO(io);
    const db = await openDatabase({ cacheDir: ctx.cacheDir, env: ctx.env, log: ctx.log });
    try {
      await checkSchema(db, 'restore');
      if (optBool(args, 'json')) io.out(stableJson({ ok: true, database: db.description }));
      else io.out(`the labels database ${db.description} serves export and restore\n`);
    } finally {
      await db.close();
    }
  },
};

const module: StageModule = { commands: [init, check] };
export default module;
