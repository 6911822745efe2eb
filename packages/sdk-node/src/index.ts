export type {
  AliasParams,
  DropReason,
  GroupParams,
  IdentifyParams,
  Message,
  PageParams,
  ScreenParams,
  TrackParams,
} from '@tracklane/sdk-core';
export { Tracklane, type TracklaneOptions, VERSION } from './client.ts';
