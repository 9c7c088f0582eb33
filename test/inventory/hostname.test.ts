import { describe, expect, it } from 'vitest';
import { canonicalHostname } from '../../src/inventory/hostname.js';

describe('canonicalHostname', () => {
  it.each([
    ['CHI-2K5FSB4', 'chi-2k5fsb4'],
    ['chi-2k5fsb4.corp.local', 'chi-2k5fsb4'],
    ['RFG-DYP6X14 | Tami Miller', 'rfg-dyp6x14'],
    ['HOST.domain.com | user', 'host'],
    ['  Padded-PC  ', 'padded-pc'],
    ['AEC-027396194353', 'aec-027396194353'],
    ['', ''],
    ['|', ''],
  ])('%j → %j', (input, expected) => {
    expect(canonicalHostname(input)).toBe(expected);
  });
});
