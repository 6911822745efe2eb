export {
  clickhouseDialect,
  dialectOf,
  duckdbDialect,
  postgresDialect,
  type SqlDialect,
} from './dialects/index.ts';
export {
  buildFunnel,
  type FunnelRequest,
  FunnelRequestSchema,
  type FunnelResult,
  runFunnel,
} from './funnels.ts';
export { buildPaths, type PathsRequest, PathsRequestSchema, type PathsResult, runPaths } from './paths.ts';
export { type PropertyRef, parsePropertyRef } from './property-ref.ts';
export { type Interval, QueryBuilder } from './query-builder.ts';
export { type Filter, FilterSchema, validateRequest } from './request-schema.ts';
export {
  buildRetention,
  type RetentionRequest,
  RetentionRequestSchema,
  type RetentionResult,
  runRetention,
} from './retention.ts';
export {
  buildTrends,
  runTrends,
  type TrendsRequest,
  TrendsRequestSchema,
  type TrendsResult,
} from './trends.ts';
export {
  buildTopPages,
  buildWebSessions,
  runWebStats,
  type WebStatsRequest,
  WebStatsRequestSchema,
  type WebStatsResult,
} from './web-stats.ts';
