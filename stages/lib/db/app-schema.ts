// The web app's tables this tool touches, as its Prisma schema (rally-cut api/prisma/schema.prisma) creates
// them: names, types, enums, defaults, NOT NULLs, indexes and foreign keys. One description feeds both
// `db init` (the DDL below) and the schema check. Prisma's @updatedAt columns have no database default
// (the app fills them), so every insert of ours sets updated_at.

export const USER_TIERS = ['FREE', 'PRO', 'ELITE'] as const;
export const VIDEO_STATUSES = ['PENDING', 'UPLOADED', 'DETECTING', 'DETECTED', 'ERROR'] as const;
export const PROCESSING_STATUSES = ['PENDING', 'QUEUED', 'PROCESSING', 'COMPLETED', 'FAILED', 'SKIPPED'] as const;
export const SERVING_TEAMS = ['A', 'B'] as const;
export const RALLY_STATUSES = ['CONFIRMED', 'SUGGESTED'] as const;
export const REJECTION_REASONS = ['INSUFFICIENT_WINDOWS', 'TOO_SHORT', 'SPARSE_DENSITY'] as const;
export const SESSION_TYPES = ['REGULAR', 'ALL_VIDEOS'] as const;

export const APP_ENUMS: Readonly<Record<string, readonly string[]>> = {
  UserTier: USER_TIERS,
  VideoStatus: VIDEO_STATUSES,
  ProcessingStatus: PROCESSING_STATUSES,
  ServingTeam: SERVING_TEAMS,
  RallyStatus: RALLY_STATUSES,
  RejectionReason: REJECTION_REASONS,
  SessionType: SESSION_TYPES,
};

export interface ColumnSpec {
  name: string;
  /** The type as written in DDL: TEXT, INTEGER, ..., or an enum name (quoted in the DDL). */
  type: 'TEXT' | 'INTEGER' | 'BIGINT' | 'DOUBLE PRECISION' | 'TIMESTAMP(3)' | keyof typeof APP_ENUMS;
  notNull?: boolean;
  /** SQL default expression. */
  default?: string;
}

export interface IndexSpec {
  columns: readonly string[];
  unique?: boolean;
}

export interface ForeignKeySpec {
  column: string;
  references: string;
  onDelete: 'CASCADE' | 'SET NULL';
}

export interface TableSpec {
  name: string;
  columns: readonly ColumnSpec[];
  indexes: readonly IndexSpec[];
  foreignKeys: readonly ForeignKeySpec[];
}

const NOW = 'CURRENT_TIMESTAMP';
const id: ColumnSpec = { name: 'id', type: 'TEXT', notNull: true };
const text = (name: string, notNull = false): ColumnSpec => ({ name, type: 'TEXT', notNull });
const time = (name: string): ColumnSpec => ({ name, type: 'TIMESTAMP(3)' });
const createdAt: ColumnSpec = { name: 'created_at', type: 'TIMESTAMP(3)', notNull: true, default: NOW };
const updatedAt: ColumnSpec = { name: 'updated_at', type: 'TIMESTAMP(3)', notNull: true };

export const APP_TABLES: readonly TableSpec[] = [
  {
    name: 'users',
    columns: [
      id,
      text('email'),
      text('name'),
      text('avatar_url'),
      time('email_verified'),
      text('password_hash'),
      { name: 'tier', type: 'UserTier', notNull: true, default: `'FREE'` },
      time('tier_expires_at'),
      createdAt,
      time('converted_at'),
      time('last_active_at'),
    ],
    indexes: [{ columns: ['email'], unique: true }, { columns: ['tier'] }],
    foreignKeys: [],
  },
  {
    name: 'sessions',
    columns: [
      id,
      text('user_id'),
      text('name', true),
      { name: 'type', type: 'SessionType', notNull: true, default: `'REGULAR'` },
      time('expires_at'),
      time('deleted_at'),
      createdAt,
      updatedAt,
    ],
    indexes: [{ columns: ['user_id'] }, { columns: ['user_id', 'deleted_at'] }, { columns: ['expires_at'] }, { columns: ['deleted_at'] }],
    foreignKeys: [{ column: 'user_id', references: 'users', onDelete: 'SET NULL' }],
  },
  {
    name: 'videos',
    columns: [
      id,
      text('user_id'),
      text('name', true),
      text('filename', true),
      text('s3_key', true),
      text('content_hash', true),
      { name: 'status', type: 'VideoStatus', notNull: true, default: `'PENDING'` },
      { name: 'duration_ms', type: 'INTEGER' },
      { name: 'width', type: 'INTEGER' },
      { name: 'height', type: 'INTEGER' },
      { name: 'fps', type: 'DOUBLE PRECISION' },
      { name: 'file_size_bytes', type: 'BIGINT' },
      time('expires_at'),
      time('deleted_at'),
      createdAt,
      updatedAt,
      { name: 'processing_status', type: 'ProcessingStatus', notNull: true, default: `'PENDING'` },
      { name: 'processing_attempts', type: 'INTEGER', notNull: true, default: '0' },
      text('processed_s3_key'),
      text('original_s3_key'),
      time('processed_at'),
      text('processing_error'),
      { name: 'original_file_size_bytes', type: 'BIGINT' },
      text('poster_s3_key'),
      text('proxy_s3_key'),
      { name: 'proxy_file_size_bytes', type: 'BIGINT' },
      time('proxy_generated_at'),
      time('proxy_last_accessed_at'),
      time('quality_downgraded_at'),
    ],
    indexes: [
      { columns: ['user_id'] },
      { columns: ['user_id', 'deleted_at'] },
      { columns: ['content_hash'] },
      { columns: ['status'] },
      { columns: ['expires_at'] },
      { columns: ['deleted_at'] },
      { columns: ['processing_status'] },
    ],
    foreignKeys: [{ column: 'user_id', references: 'users', onDelete: 'SET NULL' }],
  },
  {
    name: 'session_videos',
    columns: [
      id,
      text('session_id', true),
      text('video_id', true),
      { name: 'order', type: 'INTEGER', notNull: true, default: '0' },
      { name: 'added_at', type: 'TIMESTAMP(3)', notNull: true, default: NOW },
    ],
    indexes: [{ columns: ['session_id', 'video_id'], unique: true }, { columns: ['session_id'] }, { columns: ['video_id'] }],
    foreignKeys: [
      { column: 'session_id', references: 'sessions', onDelete: 'CASCADE' },
      { column: 'video_id', references: 'videos', onDelete: 'CASCADE' },
    ],
  },
  {
    name: 'rallies',
    columns: [
      id,
      text('video_id', true),
      { name: 'start_ms', type: 'INTEGER', notNull: true },
      { name: 'end_ms', type: 'INTEGER', notNull: true },
      { name: 'confidence', type: 'DOUBLE PRECISION' },
      { name: 'status', type: 'RallyStatus', notNull: true, default: `'CONFIRMED'` },
      { name: 'rejection_reason', type: 'RejectionReason' },
      { name: 'score_a', type: 'INTEGER' },
      { name: 'score_b', type: 'INTEGER' },
      { name: 'serving_team', type: 'ServingTeam' },
      text('notes'),
      { name: 'order', type: 'INTEGER', notNull: true, default: '0' },
      createdAt,
      updatedAt,
    ],
    indexes: [{ columns: ['video_id'] }, { columns: ['video_id', 'start_ms'] }, { columns: ['video_id', 'status'] }],
    foreignKeys: [{ column: 'video_id', references: 'videos', onDelete: 'CASCADE' }],
  },
];

const quote = (name: string): string => `"${name}"`;
const isEnum = (type: string): boolean => type in APP_ENUMS;

/** Prisma's index names: <table>_<columns>_idx, or _key when unique. */
export function indexName(table: string, ix: IndexSpec): string {
  return `${table}_${ix.columns.join('_')}_${ix.unique ? 'key' : 'idx'}`;
}

export function columnDdl(c: ColumnSpec): string {
  const type = isEnum(c.type) ? quote(c.type) : c.type;
  return `${quote(c.name)} ${type}${c.notNull ? ' NOT NULL' : ''}${c.default !== undefined ? ` DEFAULT ${c.default}` : ''}`;
}

export function enumDdl(name: string): string {
  return `CREATE TYPE ${quote(name)} AS ENUM (${APP_ENUMS[name]!.map((v) => `'${v}'`).join(', ')})`;
}

export function tableDdl(t: TableSpec): string {
  return `CREATE TABLE ${quote(t.name)} (\n  ${[...t.columns.map(columnDdl), `CONSTRAINT ${quote(`${t.name}_pkey`)} PRIMARY KEY ("id")`].join(',\n  ')}\n)`;
}

export function indexDdl(t: TableSpec, ix: IndexSpec): string {
  return `CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${quote(indexName(t.name, ix))} ON ${quote(t.name)}(${ix.columns.map(quote).join(', ')})`;
}

export function foreignKeyDdl(t: TableSpec, fk: ForeignKeySpec): string {
  return `ALTER TABLE ${quote(t.name)} ADD CONSTRAINT ${quote(`${t.name}_${fk.column}_fkey`)} FOREIGN KEY (${quote(fk.column)}) REFERENCES ${quote(fk.references)}("id") ON DELETE ${fk.onDelete} ON UPDATE CASCADE`;
}

/** The DDL `db init` runs, in Prisma's order: enums, tables, indexes, then foreign keys. */
export function appSchemaDdl(): string[] {
  return [
    ...Object.keys(APP_ENUMS).map(enumDdl),
    ...APP_TABLES.map(tableDdl),
    ...APP_TABLES.flatMap((t) => t.indexes.map((ix) => indexDdl(t, ix))),
    ...APP_TABLES.flatMap((t) => t.foreignKeys.map((fk) => foreignKeyDdl(t, fk))),
  ];
}
