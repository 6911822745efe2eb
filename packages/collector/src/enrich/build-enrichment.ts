import type { IpMode } from '../collector-options.ts';
import { makeBotStep } from './bot.ts';
import { correctClockSkew } from './clock-skew.ts';
import type { EnrichStep } from './enrich-step.ts';
import { type GeoReader, makeGeoIpStep } from './geo-ip.ts';
import { makeIpStep } from './ip.ts';
import { makePageUrlStep } from './page-url.ts';
import { makeUserAgentStep } from './user-agent.ts';

/** The enrichment steps in the order they must run: geo-IP sees the full IP before it is anonymised. */
export function buildEnrichment(options: { ip: IpMode; geo?: GeoReader | undefined }): EnrichStep[] {
  const steps: EnrichStep[] = [correctClockSkew];
  if (options.geo !== undefined) steps.push(makeGeoIpStep(options.geo));
  steps.push(makeIpStep(options.ip), makeUserAgentStep(), makeBotStep(), makePageUrlStep());
  return steps;
}
