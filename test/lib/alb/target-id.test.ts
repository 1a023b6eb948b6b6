import { bracketHost, formatTargetId, parseTargetId } from '../../../lib/alb/target-id';
import { parseDrainTarget, formatDrainTarget } from '../../../lib/drain/target-id';
import { parseTargetAddress } from '../../../lib/proxy/runtime';

describe('formatTargetId', () => {
  it('writes IPv4 addresses and host names as host:port', () => {
    expect(formatTargetId({ host: '10.0.1.5', port: 8080 })).toBe('10.0.1.5:8080');
    expect(formatTargetId({ host: 'app1', port: 80 })).toBe('app1:80');
  });

  it('puts IPv6 addresses in brackets, so the port stays unambiguous', () => {
    expect(formatTargetId({ host: '2001:db8::5', port: 8080 })).toBe('[2001:db8::5]:8080');
    expect(formatTargetId({ host: '::1', port: 9001 })).toBe('[::1]:9001');
    expect(bracketHost('::1')).toBe('[::1]');
    expect(bracketHost('127.0.0.1')).toBe('127.0.0.1');
  });
});

describe('parseTargetId', () => {
  it.each([
    ['10.0.1.5:8080', { host: '10.0.1.5', port: 8080 }],
    ['localhost:1', { host: 'localhost', port: 1 }],
    ['[2001:db8::5]:65535', { host: '2001:db8::5', port: 65535 }],
    ['[::ffff:10.0.0.1]:80', { host: '::ffff:10.0.0.1', port: 80 }],
  ])('reads %s', (text, expected) => {
    expect(parseTargetId(text)).toEqual(expected);
  });

  it.each([
    ['no port', '10.0.1.5'],
    ['an empty port', '10.0.1.5:'],
    ['port 0', '10.0.1.5:0'],
    ['a port above 65535', '10.0.1.5:65536'],
    ['a six-digit port', '10.0.1.5:080800'],
    ['an unbracketed IPv6 address', '2001:db8::5:8080'],
    ['brackets around an IPv4 address', '[10.0.1.5]:80'],
    ['brackets around a name', '[localhost]:80'],
    ['an unclosed bracket', '[::1:80'],
    ['no host', ':80'],
    ['spaces', ' 10.0.1.5:80'],
    ['nothing', ''],
  ])('refuses %s (%j)', (_what, text) => {
    expect(parseTargetId(text)).toBeUndefined();
  });

  it('round-trips what formatTargetId writes', () => {
    for (const address of [{ host: '192.0.2.1', port: 443 }, { host: '2001:db8:0:0:1:0:0:1', port: 8443 }, { host: 'api.internal', port: 9000 }]) {
      expect(parseTargetId(formatTargetId(address))).toEqual(address);
    }
  });
});

describe('the proxy and the drain read ids with the same format', () => {
  it('the proxy accepts host names and the :port shorthand, and refuses what the format refuses', () => {
    expect(parseTargetAddress('[::1]:9001')).toEqual({ host: '::1', port: 9001 });
    expect(parseTargetAddress(' :9001 ')).toEqual({ host: '127.0.0.1', port: 9001 });
    expect(() => parseTargetAddress('[10.0.0.1]:80')).toThrow('invalid target "[10.0.0.1]:80": expected host:port');
    expect(() => parseTargetAddress('::1:9001')).toThrow('invalid target');
  });

  it('the drain accepts IP addresses only, and writes them back the same way', () => {
    expect(parseDrainTarget('[2001:db8::5]:8080')).toEqual({ kind: 'ip', id: '2001:db8::5', port: 8080 });
    expect(formatDrainTarget(parseDrainTarget('[2001:db8::5]:8080'))).toBe('[2001:db8::5]:8080');
    expect(formatDrainTarget(parseDrainTarget('10.0.1.5:8080'))).toBe('10.0.1.5:8080');
    expect(() => parseDrainTarget('localhost:8080')).toThrow('invalid target "localhost:8080"');
    expect(() => parseDrainTarget('999.0.0.1:80')).toThrow('invalid target');
    expect(() => parseDrainTarget('10.0.1.5:0')).toThrow('invalid target');
  });
});
