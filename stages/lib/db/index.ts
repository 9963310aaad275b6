// The labels database: connection (PostgreSQL via DATABASE_URL, else embedded PGlite), schema, ground truth.
export type { Database, Queryable, OpenDatabaseOptions } from './connection.js';
export { openDatabase, redactDatabaseUrl } from './connection.js';
export { APP_ENUMS, APP_TABLES, VIDEO_STATUSES, PROCESSING_STATUSES, RALLY_STATUSES, REJECTION_REASONS, SESSION_TYPES } from './app-schema.js';
export { initSchema, checkSchema, schemaProblems, SCHEMA_SQL } from './schema.js';
export type { InitResult, SchemaUse } from './schema.js';
export type { LabelledVideo, VideoToLoad, LoadPlan, PlannedVideo, PlannedRally } from './labels.js';
export { queryGroundTruth, planLoad, applyLoad, loadVideos, insertLabelledVideos, deleteVideosByKeyPrefix, defaultS3Key } from './labels.js';
export type { Owner, SessionResult } from './app-session.js';
export { resolveOwner, ensureTrainingSession, previewTrainingSession, trainingSessionName } from './app-session.js';
