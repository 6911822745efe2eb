import type { TrackedEvent } from '@tracklane/core';
import maxmind, { type CityResponse, type Reader } from 'maxmind';
import type { RequestFacts } from '../request-facts.ts';
import { contextOf, type EnrichStep, tracklaneContextOf } from './enrich-step.ts';

export type GeoReader = Reader<CityResponse>;

/** Opens a MaxMind-format database (GeoLite2/GeoIP2 City or Country, or any compatible .mmdb). */
export function openGeoIp(path: string): Promise<GeoReader> {
  return maxmind.open<CityResponse>(path, { watchForUpdates: false });
}

/** Adds `context.tracklane.geo` {country, region, city, timezone}; coarse on purpose: no coordinates. */
export function makeGeoIpStep(reader: GeoReader): EnrichStep {
  return (event: TrackedEvent, facts: RequestFacts) => {
    const clientIp = contextOf(event).ip;
    const ip = typeof clientIp === 'string' ? clientIp : facts.ip;
    let found: CityResponse | null;
    try {
      found = reader.get(ip.startsWith('::ffff:') ? ip.slice(7) : ip);
    } catch {
      return; // not an IP address
    }
    if (found === null) return;
    const geo: Record<string, string> = {};
    const country = found.country?.iso_code;
    if (country !== undefined) geo.country = country;
    const region = found.subdivisions?.[0]?.iso_code;
    if (region !== undefined) geo.region = region;
    const city = found.city?.names?.en;
    if (city !== undefined) geo.city = city;
    const timezone = found.location?.time_zone;
    if (timezone !== undefined) geo.timezone = timezone;
    tracklaneContextOf(event).geo = geo;
  };
}
