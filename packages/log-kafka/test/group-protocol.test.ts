import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTracklaneError } from '@tracklane/core';
import { assertGroupProtocol, chooseGroupProtocol } from '../src/group-protocol.ts';
import { type GroupProtocol, KafkaLog } from '../src/index.ts';

// Abridged ApiVersions answers: Kafka 4.0 (ConsumerGroupHeartbeat v0-1), Kafka 3.9 with the default
// coordinator (key 68 not offered), and a hypothetical broker that only speaks a later version.
const BASE = [
  { apiKey: 1, minVersion: 4, maxVersion: 17 }, // Fetch
  { apiKey: 11, minVersion: 0, maxVersion: 9 }, // JoinGroup
  { apiKey: 14, minVersion: 0, maxVersion: 5 }, // SyncGroup
];
const KAFKA_4 = [...BASE, { apiKey: 68, minVersion: 0, maxVersion: 1 }];
const KAFKA_3 = BASE;
const TOO_NEW = [...BASE, { apiKey: 68, minVersion: 2, maxVersion: 3 }];

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isTracklaneError(err) && err.code === 'E_CONFIG', `expected E_CONFIG, got ${err}`);
    return err.message;
  }
  assert.fail('expected E_CONFIG');
}

describe('choosing the consumer-group protocol from ApiVersions', () => {
  it("'auto' takes KIP-848 when the broker offers ConsumerGroupHeartbeat (API key 68)", () => {
    assert.equal(chooseGroupProtocol('auto', KAFKA_4, 'b:9092'), 'consumer');
  });

  it("'auto' falls back to classic when the broker does not offer it", () => {
    assert.equal(chooseGroupProtocol('auto', KAFKA_3, 'b:9092'), 'classic');
  });

  it("'auto' falls back to classic when the offered versions are none the client speaks", () => {
    assert.equal(chooseGroupProtocol('auto', TOO_NEW, 'b:9092'), 'classic');
  });

  it("'classic' stays classic even on a broker that offers KIP-848", () => {
    assert.equal(chooseGroupProtocol('classic', KAFKA_4, 'b:9092'), 'classic');
  });

  it("'consumer' on a broker without KIP-848 is an E_CONFIG error that says what to do", () => {
    const message = configError(() => chooseGroupProtocol('consumer', KAFKA_3, 'b:9092'));
    assert.match(message, /b:9092/);
    assert.match(message, /API key 68/);
    assert.match(message, /Kafka >= 4\.0/);
    assert.match(message, /'auto' or 'classic'/);
    assert.match(
      configError(() => chooseGroupProtocol('consumer', TOO_NEW, 'b:9092')),
      /v2-3/,
    );
  });

  it('refuses an unknown protocol name, naming the three there are', () => {
    assert.match(
      configError(() => assertGroupProtocol('cooperative')),
      /groupProtocol must be one of 'auto', 'consumer', 'classic', got 'cooperative'/,
    );
    assertGroupProtocol('auto');
  });

  it('KafkaLog.open refuses an unknown protocol before connecting to anything', async () => {
    const started = Date.now();
    await assert.rejects(
      // Port 1: nothing listens there, so reaching it would fail with E_NOT_READY instead.
      KafkaLog.open({ brokers: '127.0.0.1:1', groupProtocol: 'eager' as GroupProtocol }),
      (err: unknown) => isTracklaneError(err) && err.code === 'E_CONFIG' && /'eager'/.test(err.message),
    );
    assert.ok(Date.now() - started < 1000);
  });
});
