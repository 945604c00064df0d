import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refusedAddressClass } from '../../src/webhooks/address-policy.ts';

test('every address class a webhook must never reach is refused, with its class', () => {
  const cases: [string, string][] = [
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.1.1', 'link_local'],
    ['fe80::1', 'link_local'],
    ['fe80::1%eth0', 'link_local'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.254', 'cgnat'],
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['not-an-address', 'reserved'],
  ];
  for (const [address, expected] of cases) assert.equal(refusedAddressClass(address), expected, address);
});

test('IPv6 forms embedding an IPv4 address are judged by it (mapped, compatible, NAT64, 6to4)', () => {
  assert.equal(refusedAddressClass('::ffff:127.0.0.1'), 'loopback');
  assert.equal(refusedAddressClass('[::ffff:7f00:1]'), 'loopback', 'as the URL parser writes it');
  assert.equal(refusedAddressClass('::ffff:169.254.169.254'), 'metadata');
  assert.equal(refusedAddressClass('::ffff:a9fe:a9fe'), 'metadata');
  assert.equal(refusedAddressClass('::ffff:10.0.0.1'), 'private');
  assert.equal(refusedAddressClass('::127.0.0.1'), 'loopback');
  assert.equal(refusedAddressClass('64:ff9b::a00:1'), 'private');
  assert.equal(refusedAddressClass('2002:7f00:1::'), 'loopback');
  assert.equal(refusedAddressClass('::ffff:0:127.0.0.1'), 'loopback');
});

test('public unicast addresses are allowed', () => {
  for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '2a00:1450:4001::1']) {
    assert.equal(refusedAddressClass(address), null, address);
  }
});
