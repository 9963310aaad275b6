// The labels database: connection (PostgreSQL via DATABASE_URL, else embedded PGlite), schema, ground truth.
export type { Database, Queryable, OpenDatabaseOptions } from './connection.js';
export { openDatabase, redactDatabaseUrl } from './connection.js';
export { initSchema, checkSchema, SCHEMA_SQL, VIDEO_STATUSES, RALLY_STATUSES, REJECTION_REASONS } from './schema.js';
export type { InitResult } from './schema.js';
export type { LabelledVideo, VideoToLoad, LoadPlan, PlannedVideo } from './labels.js';
export { queryGroundTruth, planLoad, applyLoad, loadVideos, insertLabelledVideos, deleteVideosByKeyPrefix, defaultS3Key } from './labels.js';
